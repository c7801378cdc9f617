package io.weir.batcher;

import io.weir.runtime.ModelKey;

/**
 * Percentiles of one stage for one model version on one backend over one interval of its HdrHistogram recorders (see
 * {@link BatchingDispatcher#latencySnapshots()}); milliseconds. {@code windowMs} is how long that interval was: from
 * the roll before it (before the first roll, from the making of the version's lane) to the roll that closed it.
 * {@code count} is 0 when nothing ran in it; it counts requests for QUEUE and TOTAL and batches for COMPUTE.
 */
public record LatencySnapshot(ModelKey model, String backend, Stage stage, double windowMs, long count, double p50Ms,
                              double p95Ms, double p99Ms, double maxMs) {

    /** QUEUE: enqueue to compute start; COMPUTE: the batch's backend call; TOTAL: enqueue to answer. */
    public enum Stage { QUEUE, COMPUTE, TOTAL }
}
