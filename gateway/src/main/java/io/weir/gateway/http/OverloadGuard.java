package io.weir.gateway.http;

/**
 * Edge load shedding: while the event loop that reads a request runs behind, new inference requests are answered
 * RESOURCE_EXHAUSTED at once instead of being parsed, routed and batched.
 *
 * <p>Why here and not only in the batcher: when the cores are full, requests queue in socket buffers and in the
 * event loop's own backlog before any Weir code sees them, so the batcher's predicted-wait admission never fires
 * while the latency of what is admitted grows without bound (measured: seconds at 2x capacity, docs/PERF.md). How
 * late the loop runs its own timer is the one signal that covers that hidden queue; answering 429 costs a fraction
 * of serving, so shedding drains the backlog and keeps the admitted requests inside their budget.
 *
 * <p>Design note. One instance per event loop, owned by that loop's thread: its timer calls {@link #tick} and its
 * requests call {@link #overloaded}, so nothing is shared or locked. The tick re-arms itself {@code period} after it
 * ran (a fixed delay, so catching up never fakes a small lag). The lag is how late the last tick fired, or, if the
 * next tick is already overdue, how overdue it is: a loop stuck behind a long run of reads sees its lag before the
 * tick finally runs. Times are nanoseconds from the caller's clock, so tests drive it without sleeping.
 *
 * <p>The threshold is per request: a fraction of the budget of the model it is for (the caller's choice), because a
 * request read that late has already spent that much of its budget in the hidden queue.
 */
final class OverloadGuard {
    private final long periodNanos;
    private long nextTickNanos;
    private long lastLagNanos;

    OverloadGuard(long periodNanos, long nowNanos) {
        if (periodNanos <= 0) {
            throw new IllegalArgumentException("period must be positive");
        }
        this.periodNanos = periodNanos;
        this.nextTickNanos = nowNanos + periodNanos;
    }

    /** The loop's timer fired at {@code nowNanos}; the next one is due a period from now. */
    void tick(long nowNanos) {
        lastLagNanos = Math.max(0, nowNanos - nextTickNanos);
        nextTickNanos = nowNanos + periodNanos;
    }

    long lagNanos(long nowNanos) {
        return Math.max(lastLagNanos, nowNanos - nextTickNanos);
    }

    /** @param thresholdNanos lag above which to shed; 0 or less never sheds */
    boolean overloaded(long nowNanos, long thresholdNanos) {
        return thresholdNanos > 0 && lagNanos(nowNanos) > thresholdNanos;
    }
}
