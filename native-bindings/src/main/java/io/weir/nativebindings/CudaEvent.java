package io.weir.nativebindings;

import io.weir.nativebindings.cuda.gen.CudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A CUDA event: a marker in a stream, for completion checks and GPU-side timing.
 *
 * <p>Design note (concurrency): immutable handle; record/synchronize are driver-serialised and
 * safe from any thread; {@link #close()} is idempotent and must not race with {@link #record}.
 */
public final class CudaEvent implements AutoCloseable {

    private final CudaContext context;
    private final MemorySegment handle;
    private final boolean timing;
    private final AtomicBoolean open = new AtomicBoolean(true);

    private CudaEvent(CudaContext context, MemorySegment handle, boolean timing) {
        this.context = context;
        this.handle = handle;
        this.timing = timing;
    }

    static CudaEvent create(CudaContext context, boolean timing) {
        context.makeCurrent();
        int flags = timing ? CudaDriver.CU_EVENT_DEFAULT() : CudaDriver.CU_EVENT_DISABLE_TIMING();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Driver.check(CudaDriver.cuEventCreate(out, flags), "cuEventCreate");
            CudaEvent e = new CudaEvent(context, out.get(ValueLayout.ADDRESS, 0), timing);
            context.register(e);
            return e;
        }
    }

    /** Enqueues the event on {@code stream}. */
    public void record(CudaStream stream) {
        ensureOpen();
        context.makeCurrent();
        Driver.check(CudaDriver.cuEventRecord(handle, stream.handle()), "cuEventRecord");
    }

    /** Blocks until the work before the last {@link #record} has completed. */
    public void synchronize() {
        ensureOpen();
        context.makeCurrent();
        Driver.check(CudaDriver.cuEventSynchronize(handle), "cuEventSynchronize");
    }

    /** Milliseconds of GPU time from {@code start} to this event (both recorded, both with timing). */
    public float elapsedMillisSince(CudaEvent start) {
        ensureOpen();
        start.ensureOpen();
        if (!timing || !start.timing) {
            throw new IllegalStateException("both events must be created with timing enabled");
        }
        context.makeCurrent();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ms = arena.allocate(ValueLayout.JAVA_FLOAT);
            Driver.check(CudaDriver.cuEventElapsedTime_v2(ms, start.handle, handle), "cuEventElapsedTime_v2");
            return ms.get(ValueLayout.JAVA_FLOAT, 0);
        }
    }

    private void ensureOpen() {
        if (!open.get()) {
            throw new IllegalStateException("CUDA event is closed");
        }
    }

    @Override
    public void close() {
        if (open.compareAndSet(true, false)) {
            context.unregister(this);
            context.makeCurrent();
            Driver.check(CudaDriver.cuEventDestroy_v2(handle), "cuEventDestroy_v2");
        }
    }
}
