package io.weir.batcher;

import io.weir.runtime.ModelKey;

/**
 * What the batcher needs to know about a non-CPU backend (a GPU) to decide, per batch, whether to send the batch
 * there or to the CPU. A GPU backend implements this and passes it in {@link BatchingOptions#backendHealth()}; a
 * backend without one is judged by the batcher's own observations (its compute-time fit, its in-flight batches and a
 * breaker that opens after consecutive failures). Implementations are called from the batching threads and must be
 * cheap and non-blocking.
 */
public interface BackendHealth {

    /** False while the device should not be given work (failed, resetting, out of memory). */
    boolean healthy();

    /** Time until a batch of {@code rows} rows of {@code model} submitted now would be computed, queueing included. */
    long predictedLatencyNanos(ModelKey model, int rows);

    /** Batches submitted to the device and not yet finished. */
    int inFlight();
}
