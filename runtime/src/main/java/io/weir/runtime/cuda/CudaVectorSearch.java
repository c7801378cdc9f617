package io.weir.runtime.cuda;

import io.weir.nativebindings.Cublas;
import io.weir.nativebindings.CudaContext;
import io.weir.nativebindings.CudaStream;
import io.weir.nativebindings.DeviceBuffer;
import io.weir.nativebindings.GpuException;
import io.weir.nativebindings.PinnedHostBuffer;
import io.weir.nativebindings.WeirKernels;
import io.weir.runtime.embedding.EmbeddingIndex;
import io.weir.runtime.embedding.VectorSearch;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Exact top-k by dot product on the GPU for one {@link EmbeddingIndex} version: the index is
 * uploaded once; a batch of queries is one cuBLAS GEMM ({@code scores = Q . X^T}) and one
 * {@code weir_topk_rows} launch, then exclusions are filtered on the host. Ties break like the CPU
 * search (higher score, then lower row). Supports {@code k + exclusions <= }{@link WeirKernels#TOPK_MAX};
 * the caller sends larger requests to the CPU ({@link #maxK()}).
 *
 * <p>When the device fails a search (or is unhealthy), the batch is answered by an exact CPU search
 * of the same index instead, so a GPU fault never fails a similarity request; the failure is
 * recorded in the device's {@link CudaHealth}.
 *
 * <p>Design note (concurrency): {@link #search} is safe from several threads: each call takes one
 * of {@value #WORKERS} workers (stream, cuBLAS handle, query/score/result buffers) from a pool and
 * owns it for the call; the uploaded index is read-only. {@link #close()} comes after the last
 * search (the store's leases guarantee it).
 */
final class CudaVectorSearch implements VectorSearch {

    private static final Logger LOG = Logger.getLogger(CudaVectorSearch.class.getName());
    static final int WORKERS = 2;

    private final EmbeddingIndex index;
    private final CudaDevice device;
    private final DeviceBuffer vectors;
    private final List<Worker> workers = new ArrayList<>();
    private final BlockingQueue<Worker> idle = new ArrayBlockingQueue<>(WORKERS);
    private final AtomicBoolean open = new AtomicBoolean(true);
    private volatile VectorSearch cpuFallback;

    CudaVectorSearch(CudaDevice device, EmbeddingIndex index) {
        this.index = index;
        this.device = device;
        CudaContext ctx = device.context();
        // EmbeddingIndex exposes rows one by one outside its package: assemble the table once per version.
        int dims = index.dimensions();
        float[] data = new float[index.size() * dims];
        for (int r = 0; r < index.size(); r++) {
            System.arraycopy(index.vector(r), 0, data, r * dims, dims);
        }
        DeviceBuffer v = ctx.allocate(Math.max(4, 4L * data.length));
        try (CudaStream s = ctx.createStream(); PinnedHostBuffer host = ctx.allocatePinned(Math.max(4, 4L * data.length))) {
            MemorySegment.copy(data, 0, host.segment(), ValueLayout.JAVA_FLOAT, 0, data.length);
            v.copyFromHostAsync(host.segment(), 0, 0, 4L * data.length, s);
            s.synchronize();
            for (int i = 0; i < WORKERS; i++) {
                Worker w = new Worker(ctx);
                workers.add(w);
                idle.add(w);
            }
        } catch (RuntimeException e) {
            workers.forEach(Worker::close);
            v.close();
            throw e;
        }
        this.vectors = v;
    }

    /**
     * A factory that searches on the GPU when {@code backend} is available (and the index fits),
     * else on the CPU with {@code cpuParallelism} threads.
     */
    static VectorSearch.Factory factory(CudaBackend backend, int cpuParallelism) {
        VectorSearch.Factory cpu = VectorSearch.cpu(cpuParallelism);
        return index -> {
            if (!backend.isAvailable() || index.size() == 0) {
                return cpu.create(index);
            }
            try {
                return new CudaVectorSearch(backend.device(), index);
            } catch (GpuException e) {
                LOG.log(Level.WARNING, "embedding index " + index.version() + " stays on the CPU: " + e.getMessage());
                return cpu.create(index);
            }
        };
    }

    @Override
    public String kind() {
        return "cuda";
    }

    @Override
    public int maxK() {
        return WeirKernels.TOPK_MAX;
    }

    @Override
    public Hits[] search(float[] queries, int count, int[] k, int[][] exclude) {
        int dims = index.dimensions();
        if (queries.length < (long) count * dims || k.length < count) {
            throw new IllegalArgumentException("queries/k do not hold " + count + " queries of " + dims + " dimensions");
        }
        if (count == 0) {
            return new Hits[0];
        }
        int need = 0;
        for (int q = 0; q < count; q++) {
            int ex = exclude == null || exclude[q] == null ? 0 : exclude[q].length;
            need = Math.max(need, k[q] + ex);
        }
        if (need == 0) {
            Hits[] none = new Hits[count];
            Arrays.fill(none, new Hits(new int[0], new float[0]));
            return none;
        }
        if (need > maxK()) {
            throw new IllegalArgumentException("k + exclusions = " + need + " exceeds the GPU search's maximum " + maxK());
        }
        CudaHealth health = device.health();
        if (!open.get() || !health.admit()) {
            return cpu().search(queries, count, k, exclude);
        }
        Worker w;
        try {
            w = idle.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a GPU search worker", e);
        }
        health.started();
        long t0 = System.nanoTime();
        try {
            Hits[] hits = w.search(queries, count, Math.min(need, index.size()), k, exclude);
            health.recordSuccess(System.nanoTime() - t0);
            return hits;
        } catch (GpuException e) {
            health.recordError(e);
            LOG.log(Level.WARNING, "GPU similarity search failed; answering from the CPU", e);
            return cpu().search(queries, count, k, exclude);
        } finally {
            health.finished();
            idle.offer(w);
        }
    }

    private VectorSearch cpu() {
        VectorSearch c = cpuFallback;
        if (c == null) {
            synchronized (this) {
                c = cpuFallback;
                if (c == null) {
                    c = VectorSearch.cpu(1).create(index);
                    cpuFallback = c;
                }
            }
        }
        return c;
    }

    /** One search lane: stream, cuBLAS handle and buffers sized for the largest batch seen. Single owner. */
    private final class Worker implements AutoCloseable {
        final CudaContext ctx;
        final CudaStream stream;
        final Cublas blas;
        int capacity;
        DeviceBuffer queryBuf;
        DeviceBuffer scores;
        DeviceBuffer topValues;
        DeviceBuffer topRows;
        PinnedHostBuffer host;

        Worker(CudaContext ctx) {
            this.ctx = ctx;
            this.stream = ctx.createStream();
            try {
                this.blas = ctx.createCublas();
                blas.setStream(stream);
            } catch (RuntimeException e) {
                stream.close();
                throw e;
            }
        }

        void ensure(int count) {
            if (count <= capacity) {
                return;
            }
            release();
            int cap = Integer.highestOneBit(Math.max(1, count - 1)) << 1;
            int n = index.size();
            int dims = index.dimensions();
            queryBuf = ctx.allocate(4L * cap * dims);
            scores = ctx.allocate(4L * cap * n);
            topValues = ctx.allocate(4L * cap * WeirKernels.TOPK_MAX);
            topRows = ctx.allocate(4L * cap * WeirKernels.TOPK_MAX);
            host = ctx.allocatePinned(Math.max(4L * cap * dims, 8L * cap * WeirKernels.TOPK_MAX));
            capacity = cap;
        }

        Hits[] search(float[] queries, int count, int kk, int[] k, int[][] exclude) {
            ensure(count);
            int dims = index.dimensions();
            int n = index.size();
            MemorySegment h = host.segment();
            MemorySegment.copy(queries, 0, h, ValueLayout.JAVA_FLOAT, 0, count * dims);
            queryBuf.copyFromHostAsync(h, 0, 0, 4L * count * dims, stream);
            blas.sgemmRowMajor(false, true, count, n, dims, 1f, queryBuf.address(), vectors.address(), 0f, scores.address());
            device.kernels().topkRows(stream, scores.address(), count, n, kk, topValues.address(), topRows.address());
            long valuesBytes = 4L * count * kk;
            topValues.copyToHostAsync(h, 0, 0, valuesBytes, stream);
            topRows.copyToHostAsync(h, valuesBytes, 0, valuesBytes, stream);
            stream.synchronize();
            Hits[] out = new Hits[count];
            for (int q = 0; q < count; q++) {
                int[] ex = exclude == null || exclude[q] == null ? new int[0] : exclude[q].clone();
                Arrays.sort(ex);
                int want = Math.min(k[q], n);
                int[] rows = new int[want];
                float[] sc = new float[want];
                int got = 0;
                for (int j = 0; j < kk && got < want; j++) {
                    int row = h.getAtIndex(ValueLayout.JAVA_INT, (valuesBytes / 4) + (long) q * kk + j);
                    if (row < 0 || (ex.length > 0 && Arrays.binarySearch(ex, row) >= 0)) {
                        continue;
                    }
                    rows[got] = row;
                    sc[got] = h.getAtIndex(ValueLayout.JAVA_FLOAT, (long) q * kk + j);
                    got++;
                }
                out[q] = got == want ? new Hits(rows, sc) : new Hits(Arrays.copyOf(rows, got), Arrays.copyOf(sc, got));
            }
            return out;
        }

        void release() {
            for (AutoCloseable c : new AutoCloseable[] {queryBuf, scores, topValues, topRows, host}) {
                if (c != null) {
                    try {
                        c.close();
                    } catch (Exception e) {
                        LOG.log(Level.FINE, "closing a search buffer", e);
                    }
                }
            }
            capacity = 0;
        }

        @Override
        public void close() {
            release();
            blas.close();
            stream.close();
        }
    }

    @Override
    public void close() {
        if (!open.compareAndSet(true, false)) {
            return;
        }
        workers.forEach(Worker::close);
        vectors.close();
        VectorSearch c = cpuFallback;
        if (c != null) {
            c.close();
        }
    }
}
