package io.weir.nativebindings;

import io.weir.nativebindings.cuda.gen.CudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A kernel of a {@link CudaModule} with a declared parameter list.
 *
 * <p>Design note (concurrency): immutable and shareable between threads. The mutable part of a
 * launch, its argument block, lives in a {@link KernelArgs} that each thread owns; launches of the
 * same function from several threads (on their own streams) are fine.
 */
public final class CudaFunction {

    /** Kernel parameter kinds, as the C signature declares them. */
    public enum ArgType {
        /** A device pointer ({@code float*}, {@code const long long*}, ...): 8 bytes, pass a {@code CUdeviceptr}. */
        POINTER(8),
        /** {@code int}. */
        I32(4),
        /** {@code long long}. */
        I64(8),
        /** {@code float}. */
        F32(4);

        final int size;

        ArgType(int size) {
            this.size = size;
        }
    }

    private final CudaModule module;
    private final String name;
    private final MemorySegment handle;
    private final List<ArgType> signature;

    CudaFunction(CudaModule module, String name, MemorySegment handle, ArgType[] signature) {
        this.module = module;
        this.name = name;
        this.handle = handle;
        this.signature = List.of(signature);
    }

    public String name() {
        return name;
    }

    public List<ArgType> signature() {
        return signature;
    }

    /** A reusable argument block for this function, allocated in {@code arena}. */
    public KernelArgs newArgs(Arena arena) {
        return new KernelArgs(this, arena);
    }

    /**
     * Enqueues the kernel on {@code stream}. The driver copies the argument values during this
     * call, so {@code args} may be rewritten as soon as it returns.
     */
    public void launch(CudaStream stream, Dim3 grid, Dim3 block, int sharedMemBytes, KernelArgs args) {
        if (args.function() != this) {
            throw new IllegalArgumentException("arguments were built for " + args.function().name() + ", not " + name);
        }
        args.checkComplete();
        module.ensureOpen();
        stream.ensureOpen();
        module.context().makeCurrent();
        int rc = CudaDriver.cuLaunchKernel(handle, grid.x(), grid.y(), grid.z(), block.x(), block.y(), block.z(),
                sharedMemBytes, stream.handle(), args.pointers(), MemorySegment.NULL);
        Driver.check(rc, "cuLaunchKernel(" + name + ")");
    }

    /**
     * Convenience launch for cold paths: {@code args} are {@link DeviceBuffer}s or {@code Long}s for
     * pointers, {@code Integer}, {@code Long}, {@code Float} for scalars, type-checked against the
     * signature. Allocates a temporary argument block.
     */
    public void launch(CudaStream stream, Dim3 grid, Dim3 block, int sharedMemBytes, Object... args) {
        if (args.length != signature.size()) {
            throw new IllegalArgumentException(name + " takes " + signature.size() + " arguments, got " + args.length);
        }
        try (Arena arena = Arena.ofConfined()) {
            KernelArgs ka = newArgs(arena);
            for (int i = 0; i < args.length; i++) {
                ka.set(i, args[i]);
            }
            launch(stream, grid, block, sharedMemBytes, ka);
        }
    }
}
