package io.weir.nativebindings;

import io.weir.nativebindings.cuda.gen.CudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A CUDA graph recorded by stream capture and instantiated once: replaying it costs one
 * {@code cuGraphLaunch} instead of one driver call per copy/kernel/GEMM.
 *
 * <p>Design note (concurrency): capture is per thread ({@code CU_STREAM_CAPTURE_MODE_THREAD_LOCAL}
 * by default): the capturing thread runs the body, nothing else may enqueue on that stream
 * meanwhile. The instantiated graph is immutable and can be launched from any thread; launches
 * on one stream are ordered. The graph bakes in the device addresses and scalar arguments seen
 * during capture, so its buffers must outlive it and stay at the same addresses.
 */
public final class CudaGraph implements AutoCloseable {

    /** {@code CUstreamCaptureMode}: which unsafe calls (e.g. cuMemAlloc) other threads may make during capture. */
    public enum CaptureMode {
        GLOBAL, THREAD_LOCAL, RELAXED;

        int value() {
            return switch (this) {
                case GLOBAL -> CudaDriver.CU_STREAM_CAPTURE_MODE_GLOBAL();
                case THREAD_LOCAL -> CudaDriver.CU_STREAM_CAPTURE_MODE_THREAD_LOCAL();
                case RELAXED -> CudaDriver.CU_STREAM_CAPTURE_MODE_RELAXED();
            };
        }
    }

    private final CudaContext context;
    private final MemorySegment graph;
    private final MemorySegment exec;
    private final AtomicBoolean open = new AtomicBoolean(true);

    private CudaGraph(CudaContext context, MemorySegment graph, MemorySegment exec) {
        this.context = context;
        this.graph = graph;
        this.exec = exec;
    }

    /** Captures with {@link CaptureMode#THREAD_LOCAL}. */
    public static CudaGraph capture(CudaStream stream, Runnable body) {
        return capture(stream, CaptureMode.THREAD_LOCAL, body);
    }

    /**
     * Records everything {@code body} enqueues on {@code stream} (nothing executes during capture),
     * then instantiates it. If the body throws, capture is ended and the partial graph discarded.
     */
    public static CudaGraph capture(CudaStream stream, CaptureMode mode, Runnable body) {
        CudaContext ctx = stream.context();
        ctx.makeCurrent();
        Driver.check(CudaDriver.cuStreamBeginCapture_v2(stream.handle(), mode.value()), "cuStreamBeginCapture_v2");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment outGraph = arena.allocate(ValueLayout.ADDRESS);
            try {
                body.run();
            } catch (RuntimeException | Error e) {
                int rc = CudaDriver.cuStreamEndCapture(stream.handle(), outGraph);
                MemorySegment partial = outGraph.get(ValueLayout.ADDRESS, 0);
                if (rc == 0 && !partial.equals(MemorySegment.NULL)) {
                    CudaDriver.cuGraphDestroy(partial);
                }
                throw e;
            }
            Driver.check(CudaDriver.cuStreamEndCapture(stream.handle(), outGraph), "cuStreamEndCapture");
            MemorySegment graph = outGraph.get(ValueLayout.ADDRESS, 0);
            MemorySegment outExec = arena.allocate(ValueLayout.ADDRESS);
            int rc = CudaDriver.cuGraphInstantiateWithFlags(outExec, graph, 0L);
            if (rc != 0) {
                CudaDriver.cuGraphDestroy(graph);
                throw CudaException.of("cuGraphInstantiateWithFlags", rc);
            }
            CudaGraph g = new CudaGraph(ctx, graph, outExec.get(ValueLayout.ADDRESS, 0));
            ctx.register(g);
            return g;
        }
    }

    /** Enqueues one replay of the graph on {@code stream}. */
    public void launch(CudaStream stream) {
        if (!open.get()) {
            throw new IllegalStateException("CUDA graph is closed");
        }
        context.makeCurrent();
        Driver.check(CudaDriver.cuGraphLaunch(exec, stream.handle()), "cuGraphLaunch");
    }

    @Override
    public void close() {
        if (open.compareAndSet(true, false)) {
            context.unregister(this);
            context.makeCurrent();
            int rc1 = CudaDriver.cuGraphExecDestroy(exec);
            int rc2 = CudaDriver.cuGraphDestroy(graph);
            Driver.check(rc1, "cuGraphExecDestroy");
            Driver.check(rc2, "cuGraphDestroy");
        }
    }
}
