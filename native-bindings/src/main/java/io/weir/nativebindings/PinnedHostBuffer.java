package io.weir.nativebindings;

import io.weir.nativebindings.cuda.gen.CudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Page-locked host memory from {@code cuMemAllocHost}: the staging area for asynchronous copies.
 *
 * <p>Design note (concurrency and lifetime): the memory is exposed as a {@link MemorySegment}
 * bound to a private shared {@link Arena}; {@link #close()} closes that arena, whose cleanup action
 * calls {@code cuMemFreeHost}. Any access through the segment after close therefore fails with
 * {@link IllegalStateException} instead of touching freed memory, whichever thread holds it.
 * Writers and the stream that reads the buffer must be ordered by the owner (fill, then enqueue
 * the copy, then do not rewrite until the stream passed the copy).
 */
public final class PinnedHostBuffer implements AutoCloseable {

    private final CudaContext context;
    private final Arena arena;
    private final MemorySegment segment;
    private final AtomicBoolean open = new AtomicBoolean(true);

    private PinnedHostBuffer(CudaContext context, Arena arena, MemorySegment segment) {
        this.context = context;
        this.arena = arena;
        this.segment = segment;
    }

    static PinnedHostBuffer allocate(CudaContext context, long bytes) {
        if (bytes <= 0) {
            throw new IllegalArgumentException("allocation size must be positive: " + bytes);
        }
        context.makeCurrent();
        MemorySegment raw;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(ValueLayout.ADDRESS);
            Driver.check(CudaDriver.cuMemAllocHost_v2(out, bytes), "cuMemAllocHost_v2");
            raw = out.get(ValueLayout.ADDRESS, 0);
        }
        Arena arena = Arena.ofShared();
        MemorySegment seg = raw.reinterpret(bytes, arena, s -> {
            context.makeCurrent();
            Driver.check(CudaDriver.cuMemFreeHost(s), "cuMemFreeHost");
        });
        PinnedHostBuffer b = new PinnedHostBuffer(context, arena, seg);
        context.register(b);
        return b;
    }

    /** The pinned memory; valid until {@link #close()}. */
    public MemorySegment segment() {
        return segment;
    }

    public long byteSize() {
        return segment.byteSize();
    }

    public boolean isOpen() {
        return open.get();
    }

    @Override
    public void close() {
        if (open.compareAndSet(true, false)) {
            context.unregister(this);
            arena.close();
        }
    }
}
