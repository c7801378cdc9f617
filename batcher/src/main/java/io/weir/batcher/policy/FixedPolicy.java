package io.weir.batcher.policy;

/**
 * {@code fixed}, Triton's dynamic batcher: start a batch when the cap is reached, when the largest preferred size can
 * be formed, or when the oldest request has waited {@code maxQueueDelay} since its enqueue; otherwise wait for that
 * moment. Like Triton it forms a batch only when an execution slot is free, so requests that arrive while every slot
 * is busy join the next batch instead of queueing behind it one by one.
 */
final class FixedPolicy implements BatchPolicy {
    private final int maxRows;
    private final long maxQueueDelayNanos;
    private final int[] preferred;

    FixedPolicy(int maxRows, long maxQueueDelayNanos, int[] preferredAscending) {
        this.maxRows = maxRows;
        this.maxQueueDelayNanos = maxQueueDelayNanos;
        this.preferred = preferredAscending.clone();
    }

    @Override
    public String name() {
        return "fixed";
    }

    @Override
    public int maxBatchRows() {
        return maxRows;
    }

    @Override
    public Decision decide(PendingView pending, long nowNanos) {
        if (pending.freeSlots() <= 0) {
            return Wait.FOR_CHANGE;
        }
        int rows = pending.rows();
        if (rows >= maxRows) {
            return Flush.upTo(maxRows, Flush.Reason.FULL);
        }
        for (int i = preferred.length - 1; i >= 0; i--) {
            if (rows >= preferred[i]) {
                return Flush.upTo(preferred[i], Flush.Reason.PREFERRED);
            }
        }
        long flushAt = saturatingAdd(pending.oldestEnqueueNanos(), maxQueueDelayNanos);
        if (nowNanos >= flushAt) {
            return Flush.upTo(maxRows, Flush.Reason.DELAY);
        }
        return new Wait(flushAt);
    }

    static long saturatingAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }
}
