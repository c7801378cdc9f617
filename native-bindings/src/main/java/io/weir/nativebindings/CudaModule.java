package io.weir.nativebindings;

import io.weir.nativebindings.cuda.gen.CudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A loaded PTX/cubin module. PTX is JIT-compiled by the driver for the current device on load.
 *
 * <p>Design note (concurrency): immutable after load; {@link #function} may be called from any
 * thread. Functions obtained from a module become invalid when it is closed ({@link #close()} is
 * idempotent; closing while kernels of the module are still queued is the owner's bug).
 */
public final class CudaModule implements AutoCloseable {

    private final CudaContext context;
    private final MemorySegment handle;
    private final AtomicBoolean open = new AtomicBoolean(true);

    private CudaModule(CudaContext context, MemorySegment handle) {
        this.context = context;
        this.handle = handle;
    }

    static CudaModule load(CudaContext context, byte[] image) {
        if (image.length == 0) {
            throw new IllegalArgumentException("empty module image");
        }
        // PTX is text and must be NUL-terminated for cuModuleLoadData; a cubin (ELF) ignores the extra byte.
        byte[] terminated = image[image.length - 1] == 0 ? image : Arrays.copyOf(image, image.length + 1);
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(terminated.length, 16);
            MemorySegment.copy(terminated, 0, data, ValueLayout.JAVA_BYTE, 0, terminated.length);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Driver.check(CudaDriver.cuModuleLoadData(out, data), "cuModuleLoadData");
            CudaModule m = new CudaModule(context, out.get(ValueLayout.ADDRESS, 0));
            context.register(m);
            return m;
        }
    }

    /**
     * Looks up an {@code extern "C"} kernel and declares its parameter list, which
     * {@link KernelArgs} enforces on every launch.
     */
    public CudaFunction function(String name, CudaFunction.ArgType... signature) {
        ensureOpen();
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Driver.check(CudaDriver.cuModuleGetFunction(out, handle, arena.allocateFrom(name)),
                    "cuModuleGetFunction(" + name + ")");
            return new CudaFunction(this, name, out.get(ValueLayout.ADDRESS, 0), signature);
        }
    }

    public CudaContext context() {
        return context;
    }

    void ensureOpen() {
        if (!open.get()) {
            throw new IllegalStateException("CUDA module is closed");
        }
    }

    @Override
    public void close() {
        if (open.compareAndSet(true, false)) {
            context.unregister(this);
            context.makeCurrent();
            Driver.check(CudaDriver.cuModuleUnload(handle), "cuModuleUnload");
        }
    }
}
