package io.weir.runtime.cuda;

import io.weir.nativebindings.CudaException;
import io.weir.nativebindings.GpuException;
import io.weir.runtime.Ticker;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * Health and saturation of one CUDA device, as the dispatcher needs it: batches in flight, an
 * EWMA of batch latency, the device error count, and whether the device may take work at all.
 *
 * <p>State machine: HEALTHY until a sticky error (context poisoned) or {@value #FAILURES_TO_TRIP}
 * consecutive device errors, then UNHEALTHY. While unhealthy, {@link #admit()} rejects work except
 * that, once the back-off has elapsed, exactly one caller runs the recovery probe (CAS on
 * {@code probing}); a passing probe re-enables the device and resets the back-off, a failing one
 * doubles it (1 s up to 60 s). Resource exhaustion (out of memory) counts as an error but never
 * trips the breaker: it is saturation, not a broken device.
 *
 * <p>Design note (concurrency): lock-free. Counters are atomics; the state and its reason are
 * published through one volatile {@link Status} reference replaced wholesale; the EWMA is updated
 * with a CAS loop on the raw bits. Any thread may record outcomes.
 */
public final class CudaHealth {

    /** Consecutive non-resource device errors that take the device out of service. */
    static final int FAILURES_TO_TRIP = 3;
    static final long MIN_BACKOFF_NANOS = 1_000_000_000L;
    static final long MAX_BACKOFF_NANOS = 60_000_000_000L;
    private static final double EWMA_WEIGHT = 0.2;

    public enum State { HEALTHY, UNHEALTHY }

    /**
     * A consistent view for metrics and routing decisions.
     *
     * @param state             whether the device takes work
     * @param reason            why it is unhealthy ("ok" when healthy)
     * @param sticky            the last trip was a sticky error: only a process restart is expected to clear it
     * @param inFlight          batches currently running on the device
     * @param ewmaLatencyMicros exponentially weighted batch latency (end to end, host staging included)
     * @param deviceErrors      device errors since start
     * @param consecutiveErrors device errors since the last success
     * @param probes            recovery probes run
     */
    public record Snapshot(State state, String reason, boolean sticky, int inFlight, double ewmaLatencyMicros,
                           long deviceErrors, int consecutiveErrors, long probes) {
    }

    private record Status(State state, String reason, boolean sticky, long nextProbeAtNanos, long backoffNanos) {
    }

    private final Ticker ticker;
    private final BooleanSupplier probe;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong deviceErrors = new AtomicLong();
    private final AtomicInteger consecutiveErrors = new AtomicInteger();
    private final AtomicLong probes = new AtomicLong();
    private final AtomicLong ewmaBits = new AtomicLong(Double.doubleToRawLongBits(Double.NaN));
    private final AtomicBoolean probing = new AtomicBoolean();
    private volatile Status status = new Status(State.HEALTHY, "ok", false, 0, MIN_BACKOFF_NANOS);

    /**
     * @param probe runs a small end-to-end device check; true when the device computed correctly.
     *              It may throw; a throw counts as a failed probe.
     */
    public CudaHealth(Ticker ticker, BooleanSupplier probe) {
        this.ticker = ticker;
        this.probe = probe;
    }

    /**
     * Whether a batch may run now. When unhealthy and the back-off has elapsed, the calling thread
     * runs the recovery probe (one thread at a time) and is admitted if it passes.
     */
    public boolean admit() {
        Status s = status;
        if (s.state() == State.HEALTHY) {
            return true;
        }
        if (ticker.nanos() < s.nextProbeAtNanos() || !probing.compareAndSet(false, true)) {
            return false;
        }
        try {
            return probeNow();
        } finally {
            probing.set(false);
        }
    }

    /** Runs the recovery probe now (e.g. from an admin endpoint); true when the device is healthy afterwards. */
    public boolean probeNow() {
        probes.incrementAndGet();
        boolean ok;
        String failure = null;
        try {
            ok = probe.getAsBoolean();
        } catch (RuntimeException e) {
            ok = false;
            failure = e.toString();
        }
        Status s = status;
        if (ok) {
            consecutiveErrors.set(0);
            status = new Status(State.HEALTHY, "ok", false, 0, MIN_BACKOFF_NANOS);
            return true;
        }
        if (s.state() == State.HEALTHY) {
            // An explicit probe of a healthy device failed: take it out like any other failure.
            recordFailure(failure == null ? "recovery probe computed wrong results" : failure, false);
            return false;
        }
        long backoff = Math.min(MAX_BACKOFF_NANOS, s.backoffNanos() * 2);
        status = new Status(State.UNHEALTHY, s.reason() + (failure == null ? "" : "; probe: " + failure), s.sticky(),
                ticker.nanos() + backoff, backoff);
        return false;
    }

    /** Marks the start of a batch; pair with {@link #finished}. */
    public void started() {
        inFlight.incrementAndGet();
    }

    /** Marks the end of a batch (success or failure). */
    public void finished() {
        inFlight.decrementAndGet();
    }

    public void recordSuccess(long latencyNanos) {
        consecutiveErrors.set(0);
        double micros = latencyNanos / 1_000.0;
        while (true) {
            long bits = ewmaBits.get();
            double old = Double.longBitsToDouble(bits);
            double next = Double.isNaN(old) ? micros : old + EWMA_WEIGHT * (micros - old);
            if (ewmaBits.compareAndSet(bits, Double.doubleToRawLongBits(next))) {
                return;
            }
        }
    }

    /** Records a failed batch; returns true when the failure took the device out of service. */
    public boolean recordError(GpuException e) {
        deviceErrors.incrementAndGet();
        if (e instanceof CudaException ce && ce.resourceExhausted()) {
            return false;
        }
        if (e.sticky()) {
            return trip("sticky CUDA error: " + e.getMessage(), true);
        }
        if (consecutiveErrors.incrementAndGet() >= FAILURES_TO_TRIP) {
            return trip(FAILURES_TO_TRIP + " consecutive device errors, last: " + e.getMessage(), false);
        }
        return false;
    }

    private void recordFailure(String reason, boolean sticky) {
        deviceErrors.incrementAndGet();
        trip(reason, sticky);
    }

    private boolean trip(String reason, boolean sticky) {
        Status s = status;
        boolean wasHealthy = s.state() == State.HEALTHY;
        status = new Status(State.UNHEALTHY, reason, sticky || s.sticky() && !wasHealthy,
                ticker.nanos() + MIN_BACKOFF_NANOS, MIN_BACKOFF_NANOS);
        return wasHealthy;
    }

    public boolean healthy() {
        return status.state() == State.HEALTHY;
    }

    public int inFlight() {
        return inFlight.get();
    }

    public Snapshot snapshot() {
        Status s = status;
        return new Snapshot(s.state(), s.reason(), s.sticky(), inFlight.get(), Double.longBitsToDouble(ewmaBits.get()),
                deviceErrors.get(), consecutiveErrors.get(), probes.get());
    }
}
