package io.weir.runtime.cuda;

import io.weir.nativebindings.Activation;
import io.weir.nativebindings.Cublas;
import io.weir.nativebindings.CublasLt;
import io.weir.nativebindings.CudaContext;
import io.weir.nativebindings.CudaEvent;
import io.weir.nativebindings.CudaGraph;
import io.weir.nativebindings.CudaStream;
import io.weir.nativebindings.DeviceBuffer;
import io.weir.nativebindings.GpuException;
import io.weir.nativebindings.PinnedHostBuffer;
import io.weir.nativebindings.WeirKernels;
import io.weir.runtime.InferenceException;
import io.weir.runtime.Tensor;
import io.weir.runtime.cuda.ExecutionPlan.Binding;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Executes one {@link ExecutionPlan} on its own stream: stages inputs into pinned memory, uploads
 * them, runs the steps (cuBLAS GEMMs and Weir kernels), downloads the outputs and waits.
 *
 * <p>Per batch size seen at least {@value #CAPTURE_AFTER} times, the whole sequence (uploads,
 * GEMMs, kernels, downloads) is captured once into a {@link CudaGraph} and replayed with one
 * launch: small batches are launch-bound, so that is where graphs pay off. Captured graphs bake in
 * buffer addresses, so they are dropped whenever the buffers are reallocated for a larger batch.
 *
 * <p>Design note (concurrency): NOT thread-safe. A worker is owned by one thread at a time: the
 * {@link CudaLoadedModel} pool hands it out and takes it back. The stream, cuBLAS handle, staging
 * and activation buffers are private to the worker; only the weights are shared (read-only).
 */
final class CudaWorker implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(CudaWorker.class.getName());
    static final int CAPTURE_AFTER = 2;
    static final int MAX_GRAPHS = 16;
    static final int MAX_LT_PLANS = 512;
    private static final long CUBLAS_WORKSPACE = 32L << 20;
    private static final long ALIGN = 256;

    private final CudaContext ctx;
    private final WeirKernels kernels;
    private final ExecutionPlan plan;
    private final DeviceWeights weights;
    private final CudaStream stream;
    private final Cublas blas;
    private final DeviceBuffer cublasWorkspace;
    private final boolean usesGather;
    private final CublasLt lt;
    private final Map<Long, CublasLt.Plan> ltPlans = new HashMap<>();
    private final Map<Integer, Integer> seen = new HashMap<>();
    private final LinkedHashMap<Integer, CudaGraph> graphs = new LinkedHashMap<>(16, 0.75f, true);
    private boolean graphsEnabled;

    private int capacity;
    private DeviceBuffer[] slots;
    private DeviceBuffer errorFlag;
    private PinnedHostBuffer staging;
    private long[] inputOffsets;
    private long[] outputOffsets;
    private long flagOffset;

    CudaWorker(CudaContext ctx, WeirKernels kernels, ExecutionPlan plan, DeviceWeights weights, int initialCapacity,
               boolean graphs, Cublas.MathMode mathMode, boolean useCublasLt) {
        this.ctx = ctx;
        this.kernels = kernels;
        this.plan = plan;
        this.weights = weights;
        this.graphsEnabled = graphs;
        this.usesGather = plan.usesGather();
        CudaStream s = ctx.createStream();
        Cublas b = null;
        DeviceBuffer ws = null;
        CublasLt l = null;
        try {
            l = useCublasLt ? CublasLt.create(ctx) : null;
            b = ctx.createCublas();
            b.setStream(s);
            ws = ctx.allocate(CUBLAS_WORKSPACE);
            b.setWorkspace(ws); // after setStream, which resets it; keeps cuBLAS from allocating during capture
            b.setMathMode(mathMode);
            this.stream = s;
            this.blas = b;
            this.lt = l;
            this.cublasWorkspace = ws;
            allocate(Math.max(1, initialCapacity));
        } catch (RuntimeException e) {
            releaseBuffers();
            if (b != null) {
                b.close();
            }
            if (ws != null) {
                ws.close();
            }
            if (l != null) {
                l.close();
            }
            s.close();
            throw e;
        }
    }

    int capacity() {
        return capacity;
    }

    int graphCount() {
        return graphs.size();
    }

    private static long align(long v) {
        return (v + ALIGN - 1) / ALIGN * ALIGN;
    }

    /**
     * Buffers for batches of up to {@code rows} rows. The capacity is recorded only once every buffer is there: an
     * allocation that fails part way (out of device memory) releases what it got and leaves the capacity at 0, so the
     * next batch allocates again instead of running on missing buffers.
     */
    private void allocate(int rows) {
        releaseBuffers();
        capacity = 0;
        try {
            allocateBuffers(rows);
        } catch (RuntimeException | Error e) {
            releaseBuffers();
            throw e;
        }
        capacity = rows;
    }

    private void allocateBuffers(int rows) {
        slots = new DeviceBuffer[plan.slots().size()];
        for (int i = 0; i < slots.length; i++) {
            slots[i] = ctx.allocate(Math.max(4, rows * plan.slots().get(i).bytesPerRow()));
        }
        long off = 0;
        inputOffsets = new long[plan.inputs().size()];
        for (int i = 0; i < inputOffsets.length; i++) {
            inputOffsets[i] = off;
            off = align(off + rows * plan.slots().get(plan.inputs().get(i).slot()).bytesPerRow());
        }
        outputOffsets = new long[plan.outputs().size()];
        for (int i = 0; i < outputOffsets.length; i++) {
            outputOffsets[i] = off;
            off = align(off + rows * plan.slots().get(plan.outputs().get(i).slot()).bytesPerRow());
        }
        flagOffset = off;
        staging = ctx.allocatePinned(off + ALIGN);
        if (usesGather) {
            errorFlag = ctx.allocate(4);
        }
    }

    private void releaseBuffers() {
        graphs.values().forEach(CudaGraph::close);
        graphs.clear();
        seen.clear();
        if (slots != null) {
            for (DeviceBuffer b : slots) {
                if (b != null) {
                    b.close();
                }
            }
            slots = null;
        }
        if (staging != null) {
            staging.close();
            staging = null;
        }
        if (errorFlag != null) {
            errorFlag.close();
            errorFlag = null;
        }
    }

    /**
     * Grows the buffers (to the next power of two, at least 1) when a batch is larger than any before. The capacity is
     * 0 after a failed allocation, and then a one-row batch must get one row, not the 0 that rounding 0 up gives.
     */
    private void ensureCapacity(int rows) {
        if (rows > capacity) {
            allocate(roundUpCapacity(rows));
        }
    }

    static int roundUpCapacity(int rows) {
        if (rows <= 1) {
            return 1;
        }
        if (rows > 1 << 30) {
            throw new IllegalArgumentException(rows + " rows exceed what one worker's buffers are sized for");
        }
        return Integer.highestOneBit(rows - 1) << 1;
    }

    /**
     * Runs one batch of {@code rows} rows. Inputs were validated by the caller (names, types,
     * shapes). Throws {@link GpuException} on device failure; {@link InferenceException} (not a
     * device fault) when a Gather index was out of range.
     */
    Map<String, Tensor> run(Map<String, Tensor> inputs, int rows) throws InferenceException {
        ensureCapacity(rows);
        MemorySegment host = staging.segment();
        for (int i = 0; i < plan.inputs().size(); i++) {
            Binding b = plan.inputs().get(i);
            Tensor t = inputs.get(b.name());
            switch (t.dataType()) {
                case FP32 -> MemorySegment.copy(t.floats(), 0, host, ValueLayout.JAVA_FLOAT, inputOffsets[i], t.length());
                case INT64 -> MemorySegment.copy(t.longs(), 0, host, ValueLayout.JAVA_LONG, inputOffsets[i], t.length());
                case BYTES -> throw new IllegalStateException("BYTES input reached the GPU plan");
            }
        }
        CudaGraph graph = graphFor(rows);
        if (graph != null) {
            graph.launch(stream);
        } else {
            enqueue(rows);
        }
        stream.synchronize();
        if (usesGather && host.get(ValueLayout.JAVA_INT, flagOffset) != 0) {
            throw new InferenceException("an embedding index is out of range of its table", false);
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (int i = 0; i < plan.outputs().size(); i++) {
            Binding b = plan.outputs().get(i);
            int n = Math.toIntExact(rows * plan.slots().get(b.slot()).width());
            float[] data = new float[n];
            MemorySegment.copy(host, ValueLayout.JAVA_FLOAT, outputOffsets[i], data, 0, n);
            long[] shape = b.spec().shape();
            shape[0] = rows;
            out.put(b.name(), Tensor.ofFloats(shape, data));
        }
        return out;
    }

    private CudaGraph graphFor(int rows) {
        if (!graphsEnabled) {
            return null;
        }
        CudaGraph g = graphs.get(rows);
        if (g != null) {
            return g;
        }
        if (seen.merge(rows, 1, Integer::sum) < CAPTURE_AFTER) {
            return null;
        }
        try {
            g = CudaGraph.capture(stream, () -> enqueue(rows));
        } catch (GpuException e) {
            if (e.sticky()) {
                throw e;
            }
            LOG.log(Level.WARNING, "CUDA graph capture failed; this worker runs eagerly from now on", e);
            graphsEnabled = false;
            return null;
        }
        graphs.put(rows, g);
        if (graphs.size() > MAX_GRAPHS) {
            Map.Entry<Integer, CudaGraph> eldest = graphs.entrySet().iterator().next();
            eldest.getValue().close();
            graphs.remove(eldest.getKey());
        }
        return g;
    }

    /** Enqueues uploads, steps and downloads for {@code rows} rows (also the body of a graph capture). */
    private void enqueue(int rows) {
        MemorySegment host = staging.segment();
        if (usesGather) {
            errorFlag.fillAsync((byte) 0, stream);
        }
        for (int i = 0; i < plan.inputs().size(); i++) {
            int slot = plan.inputs().get(i).slot();
            slots[slot].copyFromHostAsync(host, inputOffsets[i], 0, rows * plan.slots().get(slot).bytesPerRow(), stream);
        }
        for (int i = 0; i < plan.steps().size(); i++) {
            execute(plan.steps().get(i), i, rows);
        }
        for (int i = 0; i < plan.outputs().size(); i++) {
            int slot = plan.outputs().get(i).slot();
            slots[slot].copyToHostAsync(host, outputOffsets[i], 0, rows * plan.slots().get(slot).bytesPerRow(), stream);
        }
        if (usesGather) {
            errorFlag.copyToHostAsync(host, flagOffset, 0, 4, stream);
        }
    }

    private long addr(int slot) {
        return slots[slot].address();
    }

    private void execute(ExecutionPlan.Step step, int index, int rows) {
        switch (step) {
            case ExecutionPlan.Gemm g when lt != null -> gemmLt(g, index, rows);
            case ExecutionPlan.Gemm g -> {
                int m = Math.multiplyExact(rows, g.rowMul());
                blas.sgemmRowMajor(false, g.transB(), m, g.n(), g.k(), g.alpha(), addr(g.in()), weights.address(g.weight()),
                        0f, addr(g.out()));
                if (g.bias() >= 0 || g.act() != Activation.NONE) {
                    kernels.biasActivation(stream, addr(g.out()), g.bias() >= 0 ? weights.address(g.bias()) : 0,
                            addr(g.out()), m, g.n(), g.act());
                }
            }
            case ExecutionPlan.BiasActivation ba -> {
                long total = rows * plan.slots().get(ba.in()).width();
                kernels.biasActivation(stream, addr(ba.in()), ba.bias() >= 0 ? weights.address(ba.bias()) : 0, addr(ba.out()),
                        Math.toIntExact(total / ba.cols()), Math.toIntExact(ba.cols()), ba.act());
            }
            case ExecutionPlan.Unary u -> {
                long n = rows * plan.slots().get(u.in()).width();
                if (u.act() == Activation.SIGMOID) {
                    kernels.sigmoid(stream, addr(u.in()), addr(u.out()), n);
                } else {
                    kernels.activation(stream, addr(u.in()), addr(u.out()), n, u.act());
                }
            }
            case ExecutionPlan.AddSame a -> {
                long n = rows * plan.slots().get(a.a()).width();
                kernels.add(stream, addr(a.a()), addr(a.b()), addr(a.out()), n, n);
            }
            case ExecutionPlan.Softmax sm -> {
                long total = rows * plan.slots().get(sm.in()).width();
                kernels.softmaxRows(stream, addr(sm.in()), addr(sm.out()), Math.toIntExact(total / sm.cols()),
                        Math.toIntExact(sm.cols()));
            }
            case ExecutionPlan.Gather ga -> kernels.gatherRows(stream, weights.address(ga.table()), addr(ga.ids()),
                    addr(ga.out()), Math.toIntExact(rows * ga.idsPerRow()), Math.toIntExact(ga.dim()), ga.vocab(),
                    errorFlag.address());
        }
    }

    /**
     * cuBLASLt path: bias and ReLU run inside the GEMM's epilogue; Tanh/Sigmoid (no Lt epilogue)
     * follow as one elementwise kernel. Plans are made on first use of a (step, rows) pair, which
     * is always an eager run (graphs are captured from the second sighting on).
     */
    private void gemmLt(ExecutionPlan.Gemm g, int index, int rows) {
        int m = Math.multiplyExact(rows, g.rowMul());
        long key = ((long) index << 32) | rows;
        CublasLt.Plan p = ltPlans.get(key);
        if (p == null) {
            if (ltPlans.size() >= MAX_LT_PLANS) {
                ltPlans.values().forEach(CublasLt.Plan::close);
                ltPlans.clear();
            }
            boolean bias = g.bias() >= 0;
            p = lt.plan(false, g.transB(), m, g.n(), g.k(), CublasLt.Epilogue.of(bias, g.act() == Activation.RELU),
                    bias ? weights.address(g.bias()) : 0, CUBLAS_WORKSPACE);
            ltPlans.put(key, p);
        }
        lt.matmul(p, g.alpha(), addr(g.in()), weights.address(g.weight()), 0f, addr(g.out()), cublasWorkspace, stream);
        if (g.act() == Activation.SIGMOID) {
            kernels.sigmoid(stream, addr(g.out()), addr(g.out()), (long) m * g.n());
        } else if (g.act() == Activation.TANH) {
            kernels.activation(stream, addr(g.out()), addr(g.out()), (long) m * g.n(), Activation.TANH);
        }
    }

    /**
     * GPU time of the compute steps alone (no host staging or transfers) for {@code rows} rows,
     * averaged over {@code iterations} back-to-back runs on whatever the slots hold; for benchmarks.
     */
    double computeMillis(int rows, int iterations, boolean asGraph) {
        ensureCapacity(rows);
        for (DeviceBuffer b : slots) {
            b.fillAsync((byte) 0, stream);
        }
        Runnable body = () -> {
            for (int i = 0; i < plan.steps().size(); i++) {
                execute(plan.steps().get(i), i, rows);
            }
        };
        body.run();
        stream.synchronize();
        try (CudaEvent start = ctx.createEvent(true); CudaEvent end = ctx.createEvent(true);
             CudaGraph g = asGraph ? CudaGraph.capture(stream, body) : null) {
            if (g != null) {
                g.launch(stream);
            }
            start.record(stream);
            for (int i = 0; i < iterations; i++) {
                if (g != null) {
                    g.launch(stream);
                } else {
                    body.run();
                }
            }
            end.record(stream);
            end.synchronize();
            return end.elapsedMillisSince(start) / iterations;
        }
    }

    /** After a failed batch: drain the stream and forget graphs (they may reference a broken state). */
    void recover() {
        graphs.values().forEach(g -> {
            try {
                g.close();
            } catch (GpuException ignored) {
                // The device is failing anyway; the health tracker decides what happens next.
            }
        });
        graphs.clear();
        seen.clear();
        stream.synchronize();
    }

    @Override
    public void close() {
        try {
            releaseBuffers();
        } finally {
            try {
                ltPlans.values().forEach(CublasLt.Plan::close);
                ltPlans.clear();
                if (lt != null) {
                    lt.close();
                }
                blas.close();
            } finally {
                cublasWorkspace.close();
                stream.close();
            }
        }
    }
}
