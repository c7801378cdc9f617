package io.weir.batcher.policy;

/**
 * Decides when a model version's waiting requests become a batch and how large it is. {@link #decide} is called only
 * on the version's batching thread, whenever requests wait and something changed (arrivals, a timer, a finished
 * batch); {@link #onBatchDone} may be called from any worker thread, so implementations keep their feedback state
 * thread-safe.
 */
public interface BatchPolicy {

    /** {@code none}, {@code fixed} or {@code adaptive}: used as a metric tag. */
    String name();

    /** The largest batch this policy forms, in rows; never more than the model's {@code max_batch_rows}. */
    int maxBatchRows();

    /** The most requests this policy puts in one batch ({@code none}: one). */
    default int maxBatchRequests() {
        return Integer.MAX_VALUE;
    }

    Decision decide(PendingView pending, long nowNanos);

    /**
     * Feedback after a batch completed.
     *
     * @param worstLatencyNanos enqueue-to-completion of the batch's longest-waiting request
     * @param budgetNanos       that request's latency budget (deadline minus enqueue)
     */
    default void onBatchDone(int rows, long computeNanos, long worstLatencyNanos, long budgetNanos) {
    }

    /** What to do now. */
    sealed interface Decision permits Flush, Wait {
    }

    /**
     * Start a batch now with whole requests, highest priority and oldest first, up to {@code rows} rows and
     * {@code requests} requests (always at least one request), for {@code reason}.
     */
    record Flush(int rows, int requests, Reason reason) implements Decision {
        public static Flush upTo(int rows, Reason reason) {
            return new Flush(rows, Integer.MAX_VALUE, reason);
        }

        /**
         * Why a batch starts now: counted per policy as {@code weir.batcher.flushes{reason}}, so that what ends the
         * batches (and so sets their size) can be read off a running gateway.
         */
        public enum Reason {
            /** Every request runs alone ({@code none}). */
            SINGLE,
            /** The cap is reached ({@code fixed}), or the next request of the waiting size would not fit under it. */
            FULL,
            /** A preferred batch size can be formed ({@code fixed}). */
            PREFERRED,
            /** The oldest request has waited {@code max_queue_delay_us} ({@code fixed}). */
            DELAY,
            /** Too few batches observed, or no arrival rate yet: no basis for waiting ({@code adaptive}). */
            WARMING_UP,
            /** The rows waiting reached the keep-up/budget target and no CPU-pressure hold applies ({@code adaptive}). */
            TARGET,
            /** Under CPU pressure, {@code pressure_batch_requests} requests are waiting ({@code adaptive}). */
            PRESSURE_BATCH,
            /** A CPU-pressure hold reached its time bound before that many requests came ({@code adaptive}). */
            HOLD_ENDED,
            /** Under CPU pressure, but less than one more request is expected before a hold would end ({@code adaptive}). */
            HOLD_SKIPPED,
            /** Waiting longer would break the earliest deadline or {@code max_queue_delay_us} ({@code adaptive}). */
            DEADLINE,
            /** The version is being unloaded: what it admitted is batched at once (the batcher, not a policy). */
            UNLOAD;

            /** The metric tag: the name in lower case. */
            public String tag() {
                return name().toLowerCase(java.util.Locale.ROOT);
            }
        }
    }

    /** Ask again at {@code untilNanos} (or earlier, when something changes); {@link Long#MAX_VALUE}: only then. */
    record Wait(long untilNanos) implements Decision {
        public static final Wait FOR_CHANGE = new Wait(Long.MAX_VALUE);
    }
}
