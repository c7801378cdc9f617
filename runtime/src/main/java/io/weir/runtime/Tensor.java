package io.weir.runtime;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;

/**
 * An immutable-by-convention, row-major tensor whose first dimension is the batch (rows). Data is held in a
 * primitive array of the tensor's type ({@code float[]} for FP32, {@code long[]} for INT64, {@code byte[][]}
 * for BYTES) so that batching concatenates arrays and nothing is boxed on the request path. Callers must not
 * mutate an array after handing it to a tensor.
 *
 * <p>A batch can also be a <em>joined</em> tensor ({@link #joinRows}): the requests' tensors one after another,
 * not copied. A backend that stages its input in native memory writes the parts there directly ({@link #copyTo}), so
 * a batch's rows are copied once, not twice (into a batch array, then into native memory); asking a joined tensor for
 * its array ({@link #floats()} and the like) concatenates the parts then, once, and keeps the result.
 */
public final class Tensor {
    private final DataType dataType;
    private final long[] shape;
    private final int length;
    /** The row-major data; null in a joined tensor until {@link #array()} first concatenates its parts. */
    private volatile Object data;
    /** The tensors joined along the batch dimension; null in a tensor that holds its own array. */
    private final Tensor[] parts;

    private Tensor(DataType dataType, long[] shape, Object data) {
        this(dataType, shape, data, null, switch (dataType) {
            case FP32 -> ((float[]) data).length;
            case INT64 -> ((long[]) data).length;
            case BYTES -> ((byte[][]) data).length;
        });
    }

    private Tensor(DataType dataType, long[] shape, Object data, Tensor[] parts, int length) {
        this.dataType = dataType;
        this.shape = shape;
        this.data = data;
        this.parts = parts;
        this.length = length;
        long expected = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            try {
                expected = Math.multiplyExact(expected, d);
            } catch (ArithmeticException e) {
                // Wrapped around, a huge shape could pass for a small (or empty) one.
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more elements than a long counts");
            }
        }
        if (expected != length()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " needs " + expected
                    + " elements but " + length() + " were given");
        }
    }

    public static Tensor ofFloats(long[] shape, float[] data) {
        return new Tensor(DataType.FP32, shape.clone(), data);
    }

    public static Tensor ofLongs(long[] shape, long[] data) {
        return new Tensor(DataType.INT64, shape.clone(), data);
    }

    public static Tensor ofBytes(long[] shape, byte[][] data) {
        return new Tensor(DataType.BYTES, shape.clone(), data);
    }

    public DataType dataType() {
        return dataType;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int rows() {
        return shape.length == 0 ? 1 : Math.toIntExact(shape[0]);
    }

    /** Elements per row. */
    public int rowWidth() {
        long w = 1;
        for (int i = 1; i < shape.length; i++) {
            w *= shape[i];
        }
        return Math.toIntExact(w);
    }

    public int length() {
        return length;
    }

    /** The backing array (not a copy): read-only by convention. */
    public float[] floats() {
        requireType(DataType.FP32);
        return (float[]) array();
    }

    public long[] longs() {
        requireType(DataType.INT64);
        return (long[]) array();
    }

    public byte[][] bytes() {
        requireType(DataType.BYTES);
        return (byte[][]) array();
    }

    /**
     * Writes this tensor's elements, row-major and in the platform's byte order, into {@code dst} from
     * {@code byteOffset} on, straight from each part of a joined tensor (nothing concatenated on the heap). Numeric
     * types only.
     *
     * @return the offset just past what was written
     */
    public long copyTo(MemorySegment dst, long byteOffset) {
        Object own = data;
        if (own == null) {
            long at = byteOffset;
            for (Tensor part : parts) {
                at = part.copyTo(dst, at);
            }
            return at;
        }
        ValueLayout element = elementLayout();
        MemorySegment.copy(own, 0, dst, element, byteOffset, length);
        return byteOffset + (long) length * element.byteSize();
    }

    /** Bytes that {@link #copyTo} writes. */
    public long byteSize() {
        return (long) length * elementLayout().byteSize();
    }

    /** A numeric element's layout in native memory (unaligned: staging offsets need not be multiples of it). */
    private ValueLayout elementLayout() {
        return switch (dataType) {
            case FP32 -> ValueLayout.JAVA_FLOAT_UNALIGNED;
            case INT64 -> ValueLayout.JAVA_LONG_UNALIGNED;
            case BYTES -> throw new IllegalStateException("a BYTES tensor has no fixed-width layout to copy");
        };
    }

    /**
     * The data array, concatenating a joined tensor's parts on first use. The field is volatile so that a thread that
     * finds the array also finds its contents (a joined batch is usually read on the thread that made it, but its
     * tensors are not confined to it).
     */
    private Object array() {
        Object own = data;
        if (own == null) {
            own = concat(dataType, parts, length);
            data = own;
        }
        return own;
    }

    private void requireType(DataType t) {
        if (dataType != t) {
            throw new IllegalStateException("tensor is " + dataType + ", not " + t);
        }
    }

    /** True when this tensor has the spec's type and non-batch dimensions. */
    public boolean conformsTo(TensorSpec spec) {
        long[] s = spec.shape();
        if (spec.dataType() != dataType || s.length != shape.length) {
            return false;
        }
        for (int i = 1; i < s.length; i++) {
            if (s[i] != shape[i]) {
                return false;
            }
        }
        return true;
    }

    /** Rows {@code [from, to)} as a new tensor (copies). */
    public Tensor sliceRows(int from, int to) {
        if (from < 0 || to > rows() || from > to) {
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of " + rows());
        }
        int w = rowWidth();
        long[] s = shape.clone();
        s[0] = to - from;
        Object own = array();
        return switch (dataType) {
            case FP32 -> new Tensor(dataType, s, Arrays.copyOfRange((float[]) own, from * w, to * w));
            case INT64 -> new Tensor(dataType, s, Arrays.copyOfRange((long[]) own, from * w, to * w));
            case BYTES -> new Tensor(dataType, s, Arrays.copyOfRange((byte[][]) own, from * w, to * w));
        };
    }

    /** Concatenates tensors of one type and row shape along the batch dimension (copies). */
    public static Tensor concatRows(List<Tensor> parts) {
        Tensor joined = joinRows(parts);
        if (joined.parts != null) {
            joined.array();
        }
        return joined;
    }

    /**
     * Tensors of one type and row shape, one after another along the batch dimension, without copying them: a
     * joined tensor keeps the parts and copies them only when written out ({@link #copyTo}) or asked for its array.
     */
    public static Tensor joinRows(List<Tensor> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("nothing to concatenate");
        }
        Tensor first = parts.getFirst();
        if (parts.size() == 1) {
            return first;
        }
        int rows = 0;
        long total = 0;
        for (Tensor t : parts) {
            if (t.dataType != first.dataType || t.rank() != first.rank() || t.rowWidth() != first.rowWidth()) {
                throw new IllegalArgumentException("cannot concatenate " + t + " with " + first);
            }
            rows += t.rows();
            total += t.length;
        }
        if (total > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a batch of " + total + " elements is over what one array holds");
        }
        long[] s = first.shape.clone();
        s[0] = rows;
        return new Tensor(first.dataType, s, null, parts.toArray(new Tensor[0]), (int) total);
    }

    private static Object concat(DataType type, Tensor[] parts, int total) {
        Object out = switch (type) {
            case FP32 -> new float[total];
            case INT64 -> new long[total];
            case BYTES -> new byte[total][];
        };
        int pos = 0;
        for (Tensor t : parts) {
            System.arraycopy(t.array(), 0, out, pos, t.length);
            pos += t.length;
        }
        return out;
    }

    @Override
    public String toString() {
        return "Tensor[" + dataType + Arrays.toString(shape) + "]";
    }
}
