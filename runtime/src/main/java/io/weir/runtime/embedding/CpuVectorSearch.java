package io.weir.runtime.embedding;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Exact CPU search over the index's contiguous {@code float[]}: the rows are cut into chunks searched in parallel;
 * within a chunk, blocks of four rows are scored against every query of the batch (each row block is read from memory
 * once per batch and the four independent accumulators keep the FPU busy), and each query keeps a bounded heap per
 * chunk; the chunk heaps are merged at the end.
 *
 * <p>Threads: {@link #search} runs on the caller and, with parallelism above one, on this instance's own pool; the
 * index is immutable and every task writes only its own heaps, so there is no shared mutable state. {@link #close}
 * shuts the pool down and must come after the last search (the store's leases guarantee that).
 */
final class CpuVectorSearch implements VectorSearch {
    private static final int MIN_CHUNK_ROWS = 1024;
    private static final AtomicInteger POOLS = new AtomicInteger();

    private final EmbeddingIndex index;
    private final float[] vectors;
    private final int dims;
    private final int parallelism;
    private final ForkJoinPool pool;

    CpuVectorSearch(EmbeddingIndex index, int parallelism) {
        if (parallelism < 1) {
            throw new IllegalArgumentException("parallelism must be at least 1");
        }
        this.index = index;
        this.vectors = index.vectors();
        this.dims = index.dimensions();
        this.parallelism = parallelism;
        int poolId = POOLS.incrementAndGet();
        this.pool = parallelism == 1 ? null : new ForkJoinPool(parallelism, p -> {
            var t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(p);
            t.setName("weir-similar-search-" + poolId + "-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    @Override
    public String kind() {
        return "cpu";
    }

    @Override
    public Hits[] search(float[] queries, int count, int[] k, int[][] exclude) {
        if (queries.length < count * dims || k.length < count) {
            throw new IllegalArgumentException("queries/k do not hold " + count + " queries of " + dims + " dimensions");
        }
        int[][] sortedExclude = new int[count][];
        for (int q = 0; q < count; q++) {
            int[] ex = exclude == null || exclude[q] == null ? new int[0] : exclude[q].clone();
            Arrays.sort(ex);
            sortedExclude[q] = ex;
        }
        int rows = index.size();
        int chunks = pool == null ? 1 : Math.max(1, Math.min(parallelism * 4, rows / MIN_CHUNK_ROWS));
        int chunkRows = (rows + chunks - 1) / chunks;
        TopK[][] partial = new TopK[chunks][];
        if (chunks == 1) {
            partial[0] = scan(queries, count, k, sortedExclude, 0, rows);
        } else {
            List<Future<TopK[]>> futures = new ArrayList<>(chunks);
            for (int c = 0; c < chunks; c++) {
                int from = c * chunkRows;
                int to = Math.min(rows, from + chunkRows);
                futures.add(pool.submit(() -> scan(queries, count, k, sortedExclude, from, to)));
            }
            for (int c = 0; c < chunks; c++) {
                try {
                    partial[c] = futures.get(c).get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while searching", e);
                } catch (ExecutionException e) {
                    throw new IllegalStateException("search task failed", e.getCause());
                }
            }
        }
        Hits[] out = new Hits[count];
        for (int q = 0; q < count; q++) {
            TopK merged = partial[0][q];
            for (int c = 1; c < chunks; c++) {
                merged.addAll(partial[c][q]);
            }
            out[q] = merged.drain();
        }
        return out;
    }

    /** Scores rows {@code [from, to)} against every query; one heap per query. */
    private TopK[] scan(float[] queries, int count, int[] k, int[][] exclude, int from, int to) {
        TopK[] heaps = new TopK[count];
        for (int q = 0; q < count; q++) {
            heaps[q] = new TopK(Math.min(k[q], index.size()));
        }
        final float[] v = vectors;
        final int d = dims;
        int r = from;
        for (; r + 4 <= to; r += 4) {
            int o0 = r * d;
            int o1 = o0 + d;
            int o2 = o1 + d;
            int o3 = o2 + d;
            for (int q = 0; q < count; q++) {
                int qo = q * d;
                float s0 = 0;
                float s1 = 0;
                float s2 = 0;
                float s3 = 0;
                for (int i = 0; i < d; i++) {
                    float x = queries[qo + i];
                    s0 += x * v[o0 + i];
                    s1 += x * v[o1 + i];
                    s2 += x * v[o2 + i];
                    s3 += x * v[o3 + i];
                }
                TopK h = heaps[q];
                int[] ex = exclude[q];
                offer(h, s0, r, ex);
                offer(h, s1, r + 1, ex);
                offer(h, s2, r + 2, ex);
                offer(h, s3, r + 3, ex);
            }
        }
        for (; r < to; r++) {
            int o = r * d;
            for (int q = 0; q < count; q++) {
                int qo = q * d;
                float s = 0;
                for (int i = 0; i < d; i++) {
                    s += queries[qo + i] * v[o + i];
                }
                offer(heaps[q], s, r, exclude[q]);
            }
        }
        return heaps;
    }

    private static void offer(TopK heap, float score, int row, int[] sortedExclude) {
        // The exclusion lookup only runs for the few rows good enough to enter the heap.
        if (score >= heap.threshold() && (sortedExclude.length == 0 || Arrays.binarySearch(sortedExclude, row) < 0)) {
            heap.offer(score, row);
        }
    }

    @Override
    public void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
