package io.weir.runtime;

import java.util.Arrays;
import java.util.List;

/**
 * An immutable-by-convention, row-major tensor whose first dimension is the batch (rows). Data is held in a
 * primitive array of the tensor's type ({@code float[]} for FP32, {@code long[]} for INT64, {@code byte[][]}
 * for BYTES) so that batching concatenates arrays and nothing is boxed on the request path. Callers must not
 * mutate an array after handing it to a tensor.
 */
public final class Tensor {
    private final DataType dataType;
    private final long[] shape;
    private final Object data;

    private Tensor(DataType dataType, long[] shape, Object data) {
        this.dataType = dataType;
        this.shape = shape;
        this.data = data;
        long expected = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            }
            expected *= d;
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
        return switch (dataType) {
            case FP32 -> ((float[]) data).length;
            case INT64 -> ((long[]) data).length;
            case BYTES -> ((byte[][]) data).length;
        };
    }

    /** The backing array (not a copy): read-only by convention. */
    public float[] floats() {
        requireType(DataType.FP32);
        return (float[]) data;
    }

    public long[] longs() {
        requireType(DataType.INT64);
        return (long[]) data;
    }

    public byte[][] bytes() {
        requireType(DataType.BYTES);
        return (byte[][]) data;
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
        return switch (dataType) {
            case FP32 -> new Tensor(dataType, s, Arrays.copyOfRange((float[]) data, from * w, to * w));
            case INT64 -> new Tensor(dataType, s, Arrays.copyOfRange((long[]) data, from * w, to * w));
            case BYTES -> new Tensor(dataType, s, Arrays.copyOfRange((byte[][]) data, from * w, to * w));
        };
    }

    /** Concatenates tensors of one type and row shape along the batch dimension. */
    public static Tensor concatRows(List<Tensor> parts) {
        if (parts.isEmpty()) {
            throw new IllegalArgumentException("nothing to concatenate");
        }
        Tensor first = parts.getFirst();
        if (parts.size() == 1) {
            return first;
        }
        int rows = 0;
        for (Tensor t : parts) {
            if (t.dataType != first.dataType || t.rank() != first.rank() || t.rowWidth() != first.rowWidth()) {
                throw new IllegalArgumentException("cannot concatenate " + t + " with " + first);
            }
            rows += t.rows();
        }
        long[] s = first.shape.clone();
        s[0] = rows;
        int total = rows * first.rowWidth();
        Object out = switch (first.dataType) {
            case FP32 -> new float[total];
            case INT64 -> new long[total];
            case BYTES -> new byte[total][];
        };
        int pos = 0;
        for (Tensor t : parts) {
            int n = t.length();
            System.arraycopy(t.data, 0, out, pos, n);
            pos += n;
        }
        return new Tensor(first.dataType, s, out);
    }

    @Override
    public String toString() {
        return "Tensor[" + dataType + Arrays.toString(shape) + "]";
    }
}
