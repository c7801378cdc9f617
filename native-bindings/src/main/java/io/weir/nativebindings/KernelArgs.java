package io.weir.nativebindings;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The {@code void** kernelParams} block of a launch: one 8-byte value slot per parameter plus the
 * array of pointers to those slots, allocated once and rewritten per launch (no allocation on the
 * hot path). Each setter checks the parameter's declared {@link CudaFunction.ArgType}.
 *
 * <p>Design note (concurrency): NOT thread-safe; one owner thread builds and launches. The memory
 * lives as long as the arena it was allocated in.
 */
public final class KernelArgs {

    private final CudaFunction function;
    private final List<CudaFunction.ArgType> signature;
    private final MemorySegment values;
    private final MemorySegment pointers;
    private long setMask;

    KernelArgs(CudaFunction function, Arena arena) {
        this.function = function;
        this.signature = function.signature();
        if (signature.size() > 64) {
            throw new IllegalArgumentException("at most 64 kernel parameters are supported");
        }
        int n = Math.max(1, signature.size());
        this.values = arena.allocate(8L * n, 8);
        this.pointers = arena.allocate(ValueLayout.ADDRESS, n);
        for (int i = 0; i < signature.size(); i++) {
            pointers.setAtIndex(ValueLayout.ADDRESS, i, values.asSlice(8L * i, 8));
        }
    }

    CudaFunction function() {
        return function;
    }

    MemorySegment pointers() {
        return pointers;
    }

    /** Device pointer parameter (0 for a null pointer). */
    public KernelArgs pointer(int index, long deviceAddress) {
        check(index, CudaFunction.ArgType.POINTER);
        values.set(ValueLayout.JAVA_LONG, 8L * index, deviceAddress);
        return mark(index);
    }

    public KernelArgs pointer(int index, DeviceBuffer buffer) {
        return pointer(index, buffer.address());
    }

    public KernelArgs i32(int index, int value) {
        check(index, CudaFunction.ArgType.I32);
        values.set(ValueLayout.JAVA_INT, 8L * index, value);
        return mark(index);
    }

    public KernelArgs i64(int index, long value) {
        check(index, CudaFunction.ArgType.I64);
        values.set(ValueLayout.JAVA_LONG, 8L * index, value);
        return mark(index);
    }

    public KernelArgs f32(int index, float value) {
        check(index, CudaFunction.ArgType.F32);
        values.set(ValueLayout.JAVA_FLOAT, 8L * index, value);
        return mark(index);
    }

    /** Boxed setter used by {@link CudaFunction#launch(CudaStream, Dim3, Dim3, int, Object...)}. */
    KernelArgs set(int index, Object value) {
        CudaFunction.ArgType t = signature.get(index);
        return switch (t) {
            case POINTER -> switch (value) {
                case DeviceBuffer b -> pointer(index, b);
                case Long l -> pointer(index, l);
                case null -> pointer(index, 0L);
                default -> throw mismatch(index, value);
            };
            case I32 -> value instanceof Integer v ? i32(index, v) : throwMismatch(index, value);
            case I64 -> value instanceof Long v ? i64(index, v)
                    : value instanceof Integer v ? i64(index, v) : throwMismatch(index, value);
            case F32 -> value instanceof Float v ? f32(index, v) : throwMismatch(index, value);
        };
    }

    private KernelArgs throwMismatch(int index, Object value) {
        throw mismatch(index, value);
    }

    private IllegalArgumentException mismatch(int index, Object value) {
        return new IllegalArgumentException(function.name() + " parameter " + index + " is " + signature.get(index)
                + ", got " + (value == null ? "null" : value.getClass().getSimpleName()));
    }

    private void check(int index, CudaFunction.ArgType expected) {
        if (index < 0 || index >= signature.size()) {
            throw new IndexOutOfBoundsException(function.name() + " has " + signature.size() + " parameters, no index " + index);
        }
        if (signature.get(index) != expected) {
            throw new IllegalArgumentException(function.name() + " parameter " + index + " is " + signature.get(index)
                    + ", not " + expected);
        }
    }

    private KernelArgs mark(int index) {
        setMask |= 1L << index;
        return this;
    }

    void checkComplete() {
        long all = signature.size() == 64 ? -1L : (1L << signature.size()) - 1;
        if ((setMask & all) != all) {
            throw new IllegalStateException(function.name() + ": parameters not set: mask " + Long.toBinaryString(~setMask & all));
        }
    }
}
