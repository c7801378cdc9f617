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
 * ran (a fixed delay, so catching up never fakes a small lag). Two readings, both against a threshold {@code T}:
 * <ul>
 *   <li>the <b>smoothed lag</b>, how late the ticks fire, averaged with weight 1/2 for the newest: over {@code T} only
 *       when the loop is late tick after tick (saturation), not after one GC or JIT pause, whose backlog is small and
 *       was measured to shed a few requests of a light smoke load;</li>
 *   <li>the <b>overdue</b> time of the next tick, read as requests are handled: a loop busy with a long run of reads
 *       has not run its timer yet, so this sees saturation before any tick does; over {@code 2T} it sheds at once.</li>
 * </ul>
 * Times are nanoseconds from the caller's clock, so tests drive it without sleeping.
 *
 * <p>The threshold is per request: a fraction of the budget of the model it is for (the caller's choice), because a
 * request read that late has already spent that much of its budget in the hidden queue.
 */
final class OverloadGuard {
    private final long periodNanos;
    private long nextTickNanos;
    private long smoothedLagNanos;

    OverloadGuard(long periodNanos, long nowNanos) {
        if (periodNanos <= 0) {
            throw new IllegalArgumentException("period must be positive");
        }
        this.periodNanos = periodNanos;
        this.nextTickNanos = nowNanos + periodNanos;
    }

    long periodNanos() {
        return periodNanos;
    }

    /** The loop's timer fired at {@code nowNanos}; the next one is due a period from now. */
    void tick(long nowNanos) {
        long lag = Math.max(0, nowNanos - nextTickNanos);
        smoothedLagNanos = (smoothedLagNanos + lag) / 2;
        nextTickNanos = nowNanos + periodNanos;
    }

    /** The larger of the smoothed lag and the next tick's overdue time (the gauge SREs see). */
    long lagNanos(long nowNanos) {
        return Math.max(smoothedLagNanos, nowNanos - nextTickNanos);
    }

    /** @param thresholdNanos {@code T} above; 0 or less never sheds */
    boolean overloaded(long nowNanos, long thresholdNanos) {
        return thresholdNanos > 0
                && (smoothedLagNanos > thresholdNanos || nowNanos - nextTickNanos > 2 * thresholdNanos);
    }
}
