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
     * {@code requests} requests (always at least one request).
     */
    record Flush(int rows, int requests) implements Decision {
        public static Flush upTo(int rows) {
            return new Flush(rows, Integer.MAX_VALUE);
        }
    }

    /** Ask again at {@code untilNanos} (or earlier, when something changes); {@link Long#MAX_VALUE}: only then. */
    record Wait(long untilNanos) implements Decision {
        public static final Wait FOR_CHANGE = new Wait(Long.MAX_VALUE);
    }
}
