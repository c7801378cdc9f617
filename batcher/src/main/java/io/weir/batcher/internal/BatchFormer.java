package io.weir.batcher.internal;

import com.lmax.disruptor.EventHandler;
import io.weir.batcher.Priority;
import io.weir.batcher.policy.BatchPolicy;
import io.weir.batcher.policy.BatchPolicy.Flush;
import io.weir.batcher.policy.BatchPolicy.Wait;
import io.weir.batcher.policy.LatencyModel;
import io.weir.batcher.policy.PendingView;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The batching thread's consumer: takes admitted requests off the ring into two FIFO queues (HIGH before NORMAL),
 * and whenever something changed (the end of a run of arrivals, the cap reached, its flush timer, a worker finishing)
 * drops what expired, asks the policy, and either hands a batch to the {@link BatchRunner} or sets the next wake-up.
 *
 * <p>Design note. Everything here is owned by the batching thread; nothing else reads it (tests drive the same
 * methods from the test thread with an injected ticker). Invariants: {@code rows} is the sum of the queued requests'
 * rows; {@code earliestDeadline} is at most every queued deadline (recomputed when its holder leaves); the next
 * wake-up is never later than the earliest deadline, so an expiring request is answered DEADLINE_EXCEEDED at its
 * deadline even while the policy waits for a free slot. The arrival rate is an exponentially decaying count of rows
 * (time constant {@value #RATE_TAU_NANOS} ns), a rate estimate that needs no window bookkeeping.
 */
final class BatchFormer implements EventHandler<RequestSlot>, PendingView {
    static final long RATE_TAU_NANOS = 50_000_000L;
    private static final Logger LOG = Logger.getLogger(BatchFormer.class.getName());

    private final Lane lane;
    private final ArrayDeque<Pending> high = new ArrayDeque<>();
    private final ArrayDeque<Pending> normal = new ArrayDeque<>();
    private int rows;
    private long earliestDeadline = Long.MAX_VALUE;
    private double ratePerNano;
    private long rateAt = Long.MIN_VALUE;
    private long now;
    private Lane.Settings settings;

    BatchFormer(Lane lane) {
        this.lane = lane;
        this.settings = lane.settings();
    }

    @Override
    public void onEvent(RequestSlot slot, long sequence, boolean endOfBatch) {
        Pending p = slot.pending;
        slot.pending = null;
        long t = lane.ticker.nanos();
        accept(p, t);
        if (endOfBatch || rows >= settings.policy().maxBatchRows()) {
            decide(t);
        }
    }

    @Override
    public void onTimeout(long sequence) {
        decide(lane.ticker.nanos());
    }

    /** The batching thread runs: a shutdown from now on takes in everything published first ({@link Lane#start}). */
    @Override
    public void onStart() {
        lane.started.countDown();
    }

    /**
     * The ring is shutting down, everything published was taken in. An unload batches what still waits at once, up
     * to the policy's cap, so that what was admitted is answered by the version it was admitted for (Triton finishes
     * in-flight requests on an unload too); a shutdown of the dispatcher, or a failure to start those batches, answers
     * it UNAVAILABLE.
     */
    @Override
    public void onShutdown() {
        try {
            drainOnShutdown();
        } finally {
            lane.shutDown.countDown();
        }
    }

    private void drainOnShutdown() {
        // An override or reload may have come after the last decision: batch under the policy in force now.
        settings = lane.settings();
        if (lane.computeOnShutdown()) {
            long t = lane.ticker.nanos();
            try {
                if (earliestDeadline - t <= 0) {
                    expireDue(t);
                }
                BatchPolicy policy = settings.policy();
                while (!high.isEmpty() || !normal.isEmpty()) {
                    flush(new Flush(policy.maxBatchRows(), policy.maxBatchRequests(), Flush.Reason.UNLOAD), t);
                }
            } catch (RuntimeException | Error e) {
                LOG.log(Level.SEVERE, "batching what waited for " + lane.key + " at its unload failed", e);
            }
        }
        failAll(WeirException.unavailable(lane.key + " was unloaded"));
    }

    void accept(Pending p, long t) {
        if (p.deadlineNanos - t <= 0) {
            expire(p, "queue");
            lane.queuedRequests.decrementAndGet();
            lane.queuedRows.addAndGet(-p.rows());
            return;
        }
        (p.request.priority() == Priority.HIGH ? high : normal).addLast(p);
        rows += p.rows();
        earliestDeadline = Math.min(earliestDeadline, p.deadlineNanos);
        if (rateAt != Long.MIN_VALUE) {
            ratePerNano *= Math.exp(-(double) (t - rateAt) / RATE_TAU_NANOS);
        }
        ratePerNano += (double) p.rows() / RATE_TAU_NANOS;
        rateAt = t;
    }

    /**
     * Drops what expired, then flushes as long as the policy says so; leaves the next wake-up set. A fault in the
     * decision (the policy, or an input it reads such as the supplied CPU load) must not end the batching thread,
     * which would leave the ring filling with requests nobody takes: what is queued is answered INTERNAL, the fault
     * is logged, and the next arrival decides afresh.
     */
    void decide(long t) {
        try {
            decideOrThrow(t);
        } catch (RuntimeException | Error e) {
            LOG.log(Level.SEVERE, "batching decision of " + lane.key + " failed; answering its " + requests()
                    + " queued requests INTERNAL", e);
            failAll(new WeirException(ErrorCode.INTERNAL, "batching of " + lane.key + " failed", 0, e));
            lane.waits.wakeAt(FlushWaitStrategy.NEVER);
        }
    }

    private void decideOrThrow(long t) {
        now = t;
        if (settings != lane.settings()) {
            settings = lane.settings();
        }
        if (earliestDeadline - t <= 0) {
            expireDue(t);
        }
        BatchPolicy policy = settings.policy();
        while (!high.isEmpty() || !normal.isEmpty()) {
            switch (policy.decide(this, t)) {
                case Flush f -> flush(f, t);
                case Wait w -> {
                    lane.waits.wakeAt(Math.min(w.untilNanos(), earliestDeadline));
                    return;
                }
            }
        }
        lane.waits.wakeAt(FlushWaitStrategy.NEVER);
    }

    private void flush(Flush f, long t) {
        List<Pending> taken = new ArrayList<>();
        int batchRows = 0;
        boolean deadlineLeft = false;
        outer:
        for (ArrayDeque<Pending> q : List.of(high, normal)) {
            while (!q.isEmpty() && taken.size() < f.requests()) {
                Pending p = q.peekFirst();
                if (!taken.isEmpty() && batchRows + p.rows() > f.rows()) {
                    break outer;
                }
                q.pollFirst();
                taken.add(p);
                batchRows += p.rows();
                deadlineLeft |= p.deadlineNanos == earliestDeadline;
            }
        }
        rows -= batchRows;
        lane.queuedRequests.addAndGet(-taken.size());
        lane.queuedRows.addAndGet(-batchRows);
        if (deadlineLeft) {
            recomputeEarliestDeadline();
        }
        try {
            lane.metrics.flushed(settings.policy().name(), f.reason(), taken.size());
            lane.runner.start(taken, batchRows, t);
        } catch (RuntimeException | Error e) {
            // Out of the queues and not handed over: nobody else would answer these.
            WeirException err = new WeirException(ErrorCode.INTERNAL, "could not start a batch of " + lane.key, 0, e);
            for (Pending p : taken) {
                if (!p.answered()) {
                    p.fail(err);
                }
            }
            throw e;
        }
    }

    private void expireDue(long t) {
        for (ArrayDeque<Pending> q : List.of(high, normal)) {
            for (Iterator<Pending> it = q.iterator(); it.hasNext(); ) {
                Pending p = it.next();
                if (p.deadlineNanos - t <= 0) {
                    it.remove();
                    rows -= p.rows();
                    lane.queuedRequests.decrementAndGet();
                    lane.queuedRows.addAndGet(-p.rows());
                    expire(p, "queue");
                }
            }
        }
        recomputeEarliestDeadline();
    }

    private void expire(Pending p, String stage) {
        if (!p.abandoned()) {
            lane.metrics.timedOut(stage); // a request, not each part of it
        }
        p.fail(WeirException.deadline("deadline passed after "
                + (lane.ticker.nanos() - p.request.enqueueNanos()) / 1_000_000 + " ms waiting for a batch"));
    }

    private void recomputeEarliestDeadline() {
        long d = Long.MAX_VALUE;
        for (Pending p : high) {
            d = Math.min(d, p.deadlineNanos);
        }
        for (Pending p : normal) {
            d = Math.min(d, p.deadlineNanos);
        }
        earliestDeadline = d;
    }

    private void failAll(WeirException e) {
        for (ArrayDeque<Pending> q : List.of(high, normal)) {
            Pending p;
            while ((p = q.pollFirst()) != null) {
                lane.queuedRequests.decrementAndGet();
                lane.queuedRows.addAndGet(-p.rows());
                p.fail(e);
            }
        }
        rows = 0;
        earliestDeadline = Long.MAX_VALUE;
    }

    // ---- PendingView, read by the policy during decide() ----

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int requests() {
        return high.size() + normal.size();
    }

    @Override
    public long oldestEnqueueNanos() {
        long oldest = Long.MAX_VALUE;
        if (!high.isEmpty()) {
            oldest = high.peekFirst().request.enqueueNanos();
        }
        if (!normal.isEmpty()) {
            oldest = Math.min(oldest, normal.peekFirst().request.enqueueNanos());
        }
        return oldest;
    }

    @Override
    public long earliestDeadlineNanos() {
        return earliestDeadline;
    }

    @Override
    public int freeSlots() {
        return lane.maxInFlight - lane.inFlightBatches.get();
    }

    @Override
    public int parallelism() {
        return lane.parallelism;
    }

    @Override
    public double arrivalRowsPerSecond() {
        if (rateAt == Long.MIN_VALUE) {
            return 0;
        }
        return ratePerNano * Math.exp(-(double) (now - rateAt) / RATE_TAU_NANOS) * 1e9;
    }

    @Override
    public double cpuLoad() {
        return lane.backends.cpuLoad();
    }

    @Override
    public LatencyModel compute() {
        return lane.backends.fit(lane.key, lane.primaryBackend());
    }
}
