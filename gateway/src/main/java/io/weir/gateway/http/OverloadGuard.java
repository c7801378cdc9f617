package io.weir.gateway.http;

import java.util.function.LongSupplier;

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
 *
 * <p><b>GC pauses.</b> A stop-the-world pause makes every timer late by its length, whatever the load; shedding then
 * answers 429 to the requests that arrived during the pause, which a loop with spare capacity serves within their
 * budget (on the clean rig, moderation's young pauses past 28 ms came every 40-50 s at half load). So a lag that the
 * process's GC time over the same interval explains is forgiven: the guard sheds on the lag left after subtracting
 * it. Under load the lag outlasts the pause (the backlog it left is still being read), so what is left still sheds.
 * Forgiveness has a limit: past twice the threshold a request has spent most of its budget (0.7 of it at the default
 * fraction) before it is read, and is shed whatever the cause. The metric and the 429's message report the lag as
 * measured, pauses included.
 */
final class OverloadGuard {
    private final long periodNanos;
    private final LongSupplier gcPauseNanos;
    private long nextTickNanos;
    private long lastLagNanos;
    /** The last tick's lateness less the GC time between it and the tick before. */
    private long lastUnexplainedLagNanos;
    private long gcAtLastTickNanos;

    /** A guard that forgives nothing (no GC time source). */
    OverloadGuard(long periodNanos, long nowNanos) {
        this(periodNanos, nowNanos, () -> 0L);
    }

    /** @param gcPauseNanos the process's stop-the-world GC time so far ({@link GcPauses}); read on this loop only */
    OverloadGuard(long periodNanos, long nowNanos, LongSupplier gcPauseNanos) {
        if (periodNanos <= 0) {
            throw new IllegalArgumentException("period must be positive");
        }
        this.periodNanos = periodNanos;
        this.gcPauseNanos = gcPauseNanos;
        this.nextTickNanos = nowNanos + periodNanos;
        this.gcAtLastTickNanos = gcPauseNanos.getAsLong();
    }

    /** The loop's timer fired at {@code nowNanos}; the next one is due a period from now. */
    void tick(long nowNanos) {
        long gc = gcPauseNanos.getAsLong();
        lastLagNanos = Math.max(0, nowNanos - nextTickNanos);
        lastUnexplainedLagNanos = Math.max(0, lastLagNanos - (gc - gcAtLastTickNanos));
        gcAtLastTickNanos = gc;
        nextTickNanos = nowNanos + periodNanos;
    }

    /** The lag as measured, GC pauses included. */
    long lagNanos(long nowNanos) {
        return Math.max(lastLagNanos, nowNanos - nextTickNanos);
    }

    /** @param thresholdNanos lag above which to shed; 0 or less never sheds */
    boolean overloaded(long nowNanos, long thresholdNanos) {
        if (thresholdNanos <= 0) {
            return false;
        }
        long lag = lagNanos(nowNanos);
        if (lag <= thresholdNanos) {
            return false;
        }
        if (lag > 2 * thresholdNanos) {
            return true;
        }
        // Only here, with the lag between one and two thresholds, is the GC time read (per request while it lasts).
        long overdue = nowNanos - nextTickNanos - (gcPauseNanos.getAsLong() - gcAtLastTickNanos);
        return Math.max(lastUnexplainedLagNanos, overdue) > thresholdNanos;
    }
}
