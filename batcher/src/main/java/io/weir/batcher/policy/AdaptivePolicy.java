package io.weir.batcher.policy;

/**
 * {@code adaptive}, the default: sizes batches from a live model of compute time and of the arrival rate so that
 * queue wait plus compute stays inside each request's budget while the version keeps up with its load.
 *
 * <p>Design note. Inputs: the fitted compute time {@code t(n) = a + b·n} of the backend the next batch will most
 * likely use ({@link LatencyModel}, fitted from every finished batch), the arrival rate {@code λ} in rows/ns, the
 * parallelism {@code W} (batches that compute at once), the rows already waiting {@code P} and the earliest deadline
 * among them. Two batch sizes bound the choice:
 * <ul>
 *   <li><b>keep-up size</b> {@code nKeep = h·λ·a / (W − h·λ·b)}: the smallest batch whose throughput
 *       {@code W·n / t(n)} covers the arrival rate with headroom {@code h}. Smaller batches fall behind, larger ones
 *       only add latency; at low load it is below one row, so requests run at once.</li>
 *   <li><b>budget size</b> {@code nBudget}: the largest batch whose remaining fill time {@code (n − P)/λ} plus compute
 *       {@code t(n)} still ends before the earliest deadline minus a safety margin. Waits therefore count from each
 *       request's enqueue (the deadline is enqueue + budget), not from when the batcher saw it.</li>
 * </ul>
 * The target is {@code min(cap, ⌈nKeep⌉, ⌊nBudget⌋)}. If the rows waiting reach it, the batch starts (taking
 * everything up to the cap: extra rows are free throughput); otherwise the policy waits until the target is expected
 * to fill, but never past the moment the target's compute would break the deadline, nor past
 * {@code max_queue_delay_us} when configured. Until {@code min_samples} batches were observed, or when the arrival
 * rate is unknown, it does not wait at all.
 *
 * <p><b>CPU pressure.</b> The keep-up size assumes the workers have their cores to themselves. On a CPU gateway they do
 * not: event loops parse JSON, extract features and write answers on the same cores, and near saturation they, not
 * the compute fit, set the throughput. A batch of one then costs a core the fixed part {@code a} per request, which
 * the HTTP path needed. So when the host's CPU load {@code u} is above {@code pressure_threshold} {@code u0}, the
 * policy also holds the oldest request, so that more requests share each batch's fixed cost. The hold ends at the
 * first of:
 * <ul>
 *   <li>the arrival that makes {@code pressure_batch_requests} {@code k} requests wait (default 30). The fixed cost
 *       a batch shares is more than the fit's {@code a}: each batch also pays a hand-off to a worker, a wake-up of
 *       the batching thread and the fan-out of its answers to the event loops, none of which the compute fit sees,
 *       so the saving does not flatten at a handful of requests the way {@code 1 − 1/k} of {@code a} would. (At
 *       {@code k} = 5, the default until clean-rig runs 97-98, moderation's holds ended 0.2 ms into a hold at its
 *       knee of 23,400 requests/s, and batches averaged 6-12 requests where {@code fixed-1ms} formed 32-37; at 30
 *       they form 40-42.) The time bound below keeps a hold's price at most {@code L} whatever {@code k} is.
 *       Arrivals wake the batching thread, so such a hold sets no timer for its expected fill moment, only for the
 *       moment the batch stops being expected within the bound below;</li>
 *   <li>a time bound after the oldest request's enqueue. The longest hold is {@code L = f·B·(0.25 + 0.75·p²)}
 *       ({@code B} that request's budget, {@code f} {@code pressure_wait_fraction}, {@code p = (u − u0)/(1 − u0)} the
 *       pressure; written with the default {@code pressure_wait_floor} {@code q} = 0.25, in general
 *       {@code f·B·(q + (1 − q)·p²)}): a quarter of {@code f·B} just above the threshold, all of it at full CPU
 *       ({@code q} = 1 gives the flat bound of before, for A/B runs against it in one sweep). When the
 *       {@code k}-request batch is expected within {@code L}, the bound is {@code L}, so the hold completes the
 *       batch: its latency price is only {@code k/λ}, small exactly when the rate is high enough for batching to
 *       matter. Otherwise it is {@code p·L}: a hold that cannot complete a batch is worth only the pressure's share
 *       of the longest. (v5 used {@code p·f·B} alone: just above the threshold, at the ranker's 125% on 2 shared
 *       cores, holds of 0.8-1 ms ended before the fifth request and batches averaged 2.7-3.7 requests where
 *       {@code fixed-2ms} formed 4.9, at the same CPU. Until the simulated sweeps the longest hold was {@code f·B}
 *       at any pressure, so just above the threshold a hold that could complete its batch within 3.2 ms of an
 *       80-ms budget waited for it: on the simulated gateway, the real lane on simulated cores where nothing else
 *       varies, that cost {@code moderation}
 *       2-2.5 ms of p95 at half load against 0.3-0.5 ms for {@code fixed-0ms}, for a saving its cores did not need.
 *       A flat quarter of it instead cost 2-3% of goodput at twice the capacity there and 3-9% more CPU a request
 *       near the development VM's knee; growing with the pressure it keeps both: docs/PERF.md, "A hold's bound that
 *       grows with the pressure".)</li>
 *   <li>the moment less than one more request is expected before the hold would end: waiting then buys nothing
 *       (at low load, when other processes fill the cores, this keeps the batcher from adding latency for no
 *       saving).</li>
 * </ul>
 * The same deadline and {@code max_queue_delay_us} bounds apply, and the batch takes everything up to the cap when it
 * starts. (Measured: on 2 cores shared with the load generator, one-row batches at 1.1-1.9 requests per batch while
 * fixed 0.5-2 ms delays formed 4-10 requests per batch, used 5-10% less CPU per request and held lower p95s from 75%
 * of capacity up; docs/PERF.md.) The threshold {@code u0} defaults to 0.6: a gateway on 2 CPUs of its own reads
 * 0.6-0.7 at its knee, so at 0.7 (the default until runs 97-98) the ranker's batches at capacity averaged 2.1-3.6
 * requests against 4.7 at 0.6. Together the two defaults kept more slices of a round-robin inside the budget than
 * 0.7 and 5 did (16 against 3 of 80 round pairs over both models at 50-150% of capacity, sign test p 0.004) at the
 * same p95 (lower in 42 against 38); on the shared 2-core development VM the two were indistinguishable
 * (docs/PERF.md, "The CPU-pressure hold's defaults").
 *
 * <p><b>Full.</b> A batch is full when the next request, at the mean size of those waiting, would not fit under the
 * cap: a ranker batch of five 50-row requests under a 256-row cap does not wait for a sixth that must go to the next
 * batch anyway.
 *
 * <p>Model errors are corrected AIMD-style, as in Clipper: when a finished batch's longest-waiting request used more
 * than {@code (1 − margin)} of its budget, the usable fraction of the remaining budget is cut by a quarter; every
 * batch inside it adds 2% back, up to the full budget. Only waiting is affected: when every slot is busy the policy
 * never waits anyway, requests accumulate and the next free slot takes up to the cap, which is what saturation needs.
 *
 * <p>Threads: {@link #decide} runs on the version's batching thread; {@link #onBatchDone} on workers. The only state
 * shared between them is {@code scale}, written under the monitor and read through a volatile.
 */
final class AdaptivePolicy implements BatchPolicy {
    private static final double MIN_SCALE = 0.2;

    private final int maxRows;
    private final long maxQueueDelayNanos;
    private final double headroom;
    private final int minSamples;
    private final double margin;
    private final double pressureThreshold;
    private final double pressureWaitFraction;
    private final double pressureWaitFloor;
    private final int pressureBatchRequests;
    private volatile double scale = 1.0;

    AdaptivePolicy(int maxRows, long maxQueueDelayNanos, double headroom, int minSamples, double margin,
                   double pressureThreshold, double pressureWaitFraction, double pressureWaitFloor,
                   int pressureBatchRequests) {
        this.maxRows = maxRows;
        this.maxQueueDelayNanos = maxQueueDelayNanos;
        this.headroom = headroom;
        this.minSamples = minSamples;
        this.margin = margin;
        this.pressureThreshold = pressureThreshold;
        this.pressureWaitFraction = pressureWaitFraction;
        this.pressureWaitFloor = pressureWaitFloor;
        this.pressureBatchRequests = pressureBatchRequests;
    }

    @Override
    public String name() {
        return "adaptive";
    }

    @Override
    public int maxBatchRows() {
        return maxRows;
    }

    /** Fraction of the remaining budget the policy currently lets itself use (1 until a budget miss). */
    double scale() {
        return scale;
    }

    @Override
    public Decision decide(PendingView pending, long now) {
        if (pending.freeSlots() <= 0) {
            return Wait.FOR_CHANGE;
        }
        int waiting = pending.rows();
        double rowsPerRequest = (double) waiting / Math.max(1, pending.requests());
        if (waiting + rowsPerRequest > maxRows) {
            return Flush.upTo(maxRows, Flush.Reason.FULL);
        }
        LatencyModel.Fit fit = pending.compute().fit();
        double lambda = pending.arrivalRowsPerSecond() / 1e9;
        if (fit.observations() < minSamples || !(lambda > 0)) {
            return Flush.upTo(maxRows, Flush.Reason.WARMING_UP);
        }
        double a = fit.fixedNanos();
        double b = fit.perRowNanos();
        long oldest = pending.oldestEnqueueNanos();
        long deadline = pending.earliestDeadlineNanos();
        double reserve = margin * Math.max(0, deadline - oldest);
        double usable = Math.max(0, deadline - now - reserve) * scale;

        double capacityPerBatch = pending.parallelism() - headroom * lambda * b;
        double keepUp = capacityPerBatch <= 0 ? maxRows : headroom * lambda * a / capacityPerBatch;
        double withinBudget = (usable - a + waiting / lambda) / (1 / lambda + b);
        int keepUpRows = (int) Math.min(maxRows, Math.ceil(keepUp));
        int target = (int) Math.min(keepUpRows, Math.floor(withinBudget));
        double cap = FixedPolicy.saturatingAdd(oldest, maxQueueDelayNanos);
        double until = now;
        // Why a batch that would start now starts: below the keep-up size only a bound ends the wait (the budget size
        // or the fill wait's deadline and max_queue_delay_us bounds; the fill moment itself is in the future by
        // construction); the hold below refines a met target under CPU pressure.
        Flush.Reason reason = waiting >= keepUpRows ? Flush.Reason.TARGET : Flush.Reason.DEADLINE;
        if (waiting < target) {
            double fillAt = now + (target - waiting) / lambda;
            double latestStart = now + usable - fit.predictNanos(target);
            until = Math.min(fillAt, Math.min(latestStart, cap));
        }
        double pressure = Math.min(1, (pending.cpuLoad() - pressureThreshold) / (1 - pressureThreshold));
        if (pressure > 0) {
            double requestsPerNano = lambda / rowsPerRequest;
            // The longest hold grows with the pressure: q·f·B just above the threshold (a quarter by default), all of
            // it at full CPU (the design note: a completing hold just above the threshold costs latency the cores do
            // not need).
            double longest = pressureWaitFraction * (pressureWaitFloor + (1 - pressureWaitFloor) * pressure * pressure)
                    * (deadline - oldest);
            int missing = Math.max(0, pressureBatchRequests - pending.requests());
            double fillNanos = missing / requestsPerNano;   // until the missing requests are expected
            double batchFormed = now + fillNanos;
            // A hold that completes a k-request batch within the longest hold lasts until then; one that cannot
            // complete it lasts only the pressure's share of the longest (p <= 1, so that ends before the batch would).
            double longestEnd = oldest + longest;
            boolean completes = batchFormed <= longestEnd;
            double hold = completes ? batchFormed : oldest + pressure * longest;
            // Requests expected before the hold ends. For a completing hold that is exactly the count missing: the
            // round trip (now + m/r - now) * r through a clock-sized double lands just under m about half the time,
            // which skipped every hold that lacked one request (measured: a third of the ranker's batches at
            // saturation started with 4 requests of 5, weir.batcher.flushes{reason="hold_skipped"}).
            double expected = completes ? missing : (hold - now) * requestsPerNano;
            if (expected >= 1) {
                // Rows expected by the end of the hold, capped: the batch that starts then should still make its deadline.
                double rowsThen = Math.min(maxRows, waiting + (hold - now) * lambda);
                double latestStart = now + usable - fit.predictNanos((int) Math.ceil(rowsThen));
                // A completing hold ends on the arrival that completes the batch: every arrival wakes the batching
                // thread and decides again. Its timer is needed only from the moment the batch is no longer expected
                // within the longest hold, when the decision turns into the hold that cannot complete. A timer at
                // the expected fill moment instead woke the thread each time an arrival came late, only to set the
                // same hold again (about 0.8 wake-ups per 5-request batch under Poisson arrivals; fixed-2ms: 0.1).
                double wakeAt = completes ? Math.max(hold, longestEnd - fillNanos) : hold;
                until = Math.max(until, Math.min(wakeAt, Math.min(latestStart, cap)));
                reason = Flush.Reason.DEADLINE; // hold > now, so only a bound can make it end now
            } else if (reason == Flush.Reason.TARGET) {
                reason = pending.requests() >= pressureBatchRequests ? Flush.Reason.PRESSURE_BATCH
                        : hold <= now ? Flush.Reason.HOLD_ENDED : Flush.Reason.HOLD_SKIPPED;
            }
        }
        return until <= now ? Flush.upTo(maxRows, reason) : new Wait((long) until);
    }

    @Override
    public synchronized void onBatchDone(int rows, long computeNanos, long worstLatencyNanos, long budgetNanos) {
        if (worstLatencyNanos > (1 - margin) * budgetNanos) {
            scale = Math.max(MIN_SCALE, scale * 0.75);
        } else if (scale < 1) {
            scale = Math.min(1, scale + 0.02);
        }
    }
}
