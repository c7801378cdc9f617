package io.weir.batcher;

import io.weir.runtime.ModelKey;

/**
 * Percentiles of one stage for one model version on one backend over the last snapshot interval (see
 * {@link BatchingDispatcher#latencySnapshots()}); milliseconds. {@code count} is 0 when nothing ran in the interval.
 */
public record LatencySnapshot(ModelKey model, String backend, Stage stage, long count, double p50Ms, double p95Ms,
                              double p99Ms, double maxMs) {

    /** QUEUE: enqueue to compute start; COMPUTE: the batch's backend call; TOTAL: enqueue to answer. */
    public enum Stage { QUEUE, COMPUTE, TOTAL }
}
