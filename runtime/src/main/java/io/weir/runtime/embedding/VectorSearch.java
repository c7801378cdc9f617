package io.weir.runtime.embedding;

/**
 * Exact top-k by dot product over one {@link EmbeddingIndex}, for a batch of queries at once (a batch reads the
 * table once for all its queries, on the CPU as on a GPU). An instance is bound to one index version for its whole
 * life, may hold resources (device memory) and is closed when that version is retired; {@link #search} may be called
 * from several threads at once.
 *
 * <p>The CPU implementation is {@link #cpu(int)}; a CUDA one (gather + GEMM + {@code weir_topk_rows}) slots in through
 * {@link Factory} and may refuse large {@code k} by its {@link #maxK()}, in which case the caller uses the CPU.
 */
public interface VectorSearch extends AutoCloseable {

    /** The best {@code rows.length} matches of one query, best first: higher score, then lower row. */
    record Hits(int[] rows, float[] scores) {
        public int size() {
            return rows.length;
        }
    }

    /** Builds the search for one index version (uploading it, for a device implementation). */
    @FunctionalInterface
    interface Factory {
        VectorSearch create(EmbeddingIndex index);
    }

    /**
     * @param queries row-major {@code count x index.dimensions()}, each row L2-normalised
     * @param k       per query, how many hits to return (fewer when the index has fewer eligible rows)
     * @param exclude per query, rows never to return (the query's own items), or null; may be null as a whole
     */
    Hits[] search(float[] queries, int count, int[] k, int[][] exclude);

    /** The largest {@code k + exclude.length} this implementation supports. */
    default int maxK() {
        return Integer.MAX_VALUE;
    }

    /** {@code cpu}, {@code cuda}, ...: reported with results and in metrics. */
    String kind();

    @Override
    default void close() {
    }

    /** Exact CPU search, parallel over row chunks on {@code parallelism} threads (1 searches on the caller). */
    static Factory cpu(int parallelism) {
        return index -> new CpuVectorSearch(index, parallelism);
    }
}
