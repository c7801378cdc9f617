/**
 * The embedding index behind {@code GetSimilar}: an immutable, versioned table of item ids and L2-normalised vectors
 * ({@link io.weir.runtime.embedding.EmbeddingIndex}), its checksummed file format
 * ({@link io.weir.runtime.embedding.EmbeddingIndexFile}), top-k search behind a small interface so that a GPU
 * implementation can replace the CPU one ({@link io.weir.runtime.embedding.VectorSearch}), the store that swaps in a
 * new file version atomically while queries run ({@link io.weir.runtime.embedding.EmbeddingIndexStore}), the
 * micro-batching query service ({@link io.weir.runtime.embedding.SimilarService}) and the seeded demo index
 * ({@link io.weir.runtime.embedding.DemoEmbeddings}).
 *
 * <p>Owns: files named {@code index-<version>.bin} in the directory it is given, and its own worker threads. Must not
 * touch: the model registry, the dispatcher or any protocol (gRPC, HTTP and metrics live in the gateway); failures
 * leave as {@link io.weir.runtime.WeirException} with the one error table's codes.
 */
package io.weir.runtime.embedding;
