package io.weir.nativebindings;

import io.weir.nativebindings.cuda.gen.CudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A non-blocking CUDA stream ({@code CU_STREAM_NON_BLOCKING}: no implicit ordering with the legacy
 * default stream).
 *
 * <p>Design note (concurrency): the handle is immutable and the driver serialises work on a
 * stream, so enqueueing from several threads is legal, but Weir gives each stream one owner (a
 * worker thread) so that the order of its copies and launches is the program order of that thread.
 * {@link #close()} is idempotent and must not race with work being enqueued by the owner.
 */
public final class CudaStream implements AutoCloseable {

    private final CudaContext context;
    private final MemorySegment handle;
    private final AtomicBoolean open = new AtomicBoolean(true);

    private CudaStream(CudaContext context, MemorySegment handle) {
        this.context = context;
        this.handle = handle;
    }

    static CudaStream create(CudaContext context) {
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Driver.check(CudaDriver.cuStreamCreate(out, CudaDriver.CU_STREAM_NON_BLOCKING()), "cuStreamCreate");
            CudaStream s = new CudaStream(context, out.get(ValueLayout.ADDRESS, 0));
            context.register(s);
            return s;
        }
    }

    /** The raw {@code CUstream}, for calls this wrapper does not cover (e.g. cuBLAS). */
    public MemorySegment handle() {
        ensureOpen();
        return handle;
    }

    public CudaContext context() {
        return context;
    }

    /** Blocks until all work enqueued so far has finished; throws the first asynchronous error. */
    public void synchronize() {
        ensureOpen();
        context.makeCurrent();
        Driver.check(CudaDriver.cuStreamSynchronize(handle), "cuStreamSynchronize");
    }

    void ensureOpen() {
        if (!open.get()) {
            throw new IllegalStateException("CUDA stream is closed");
        }
    }

    @Override
    public void close() {
        if (open.compareAndSet(true, false)) {
            context.unregister(this);
            context.makeCurrent();
            Driver.check(CudaDriver.cuStreamDestroy_v2(handle), "cuStreamDestroy_v2");
        }
    }
}
