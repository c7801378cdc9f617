package io.weir.batcher.policy;

import java.util.Arrays;

/**
 * {@code fixed}, Triton's dynamic batcher: start a batch when the cap is reached or when the oldest request has waited
 * {@code maxQueueDelay} since its enqueue (taking everything up to the cap), and with preferred sizes also when what
 * waits is exactly a preferred size, or when it is more than the largest one (the next request would not fit in it, so
 * the requests that do fit go now); otherwise wait for the delay. As in Triton's {@code GetDynamicBatch}, a preferred
 * size is a size to send at once when it is reached exactly, not a floor: waiting rows that merely pass a smaller
 * preferred size keep waiting for a larger one. Like Triton it forms a batch only when an execution slot is free, so
 * requests that arrive while every slot is busy join the next batch instead of queueing behind it one by one.
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
        long flushAt = saturatingAdd(pending.oldestEnqueueNanos(), maxQueueDelayNanos);
        if (nowNanos >= flushAt) {
            return Flush.upTo(maxRows, Flush.Reason.DELAY);
        }
        if (preferred.length > 0) {
            int largest = preferred[preferred.length - 1];
            if (rows > largest) {
                return Flush.upTo(largest, Flush.Reason.PREFERRED);
            }
            if (Arrays.binarySearch(preferred, rows) >= 0) {
                return Flush.upTo(rows, Flush.Reason.PREFERRED);
            }
        }
        return new Wait(flushAt);
    }

    /** {@code a + b}, held at the end of the range it ran past instead of wrapping around. */
    static long saturatingAdd(long a, long b) {
        long r = a + b;
        if (((a ^ r) & (b ^ r)) < 0) {
            return b > 0 ? Long.MAX_VALUE : Long.MIN_VALUE;
        }
        return r;
    }
}
