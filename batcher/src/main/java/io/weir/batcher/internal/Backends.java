package io.weir.batcher.internal;

import io.weir.batcher.BackendHealth;
import io.weir.batcher.policy.LatencyModel;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Ticker;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The executors batches compute on and what is known about each backend, shared by every lane: the CPU pool (sized to
 * the cores by the dispatcher), one executor per non-CPU backend (a GPU worker), the compute-time fit of every
 * (version, backend) pair, and the health of each non-CPU backend, either supplied ({@link BackendHealth}) or
 * {@link Observed} here.
 *
 * <p>Thread-safe: maps are concurrent, fits are thread-safe, device counters are atomics.
 */
public final class Backends {
    public static final String CPU = "cpu";

    private final Executor cpu;
    private final int cpuThreads;
    private final Function<String, Executor> deviceExecutors;
    private final int deviceWorkers;
    private final Map<String, BackendHealth> supplied;
    private final Ticker ticker;
    private final DoubleSupplier cpuLoad;
    private final Map<String, Executor> devices = new ConcurrentHashMap<>();
    private final Map<String, Observed> observed = new ConcurrentHashMap<>();
    private final Map<FitKey, LatencyModel> fits = new ConcurrentHashMap<>();

    private record FitKey(ModelKey model, String backend) {
    }

    /**
     * @param deviceExecutors creates the executor of a non-CPU backend on first use
     * @param deviceWorkers   batches one non-CPU backend computes at once (threads of its executor)
     * @param cpuLoad         the host's CPU load, 0 to 1 (see {@code PendingView.cpuLoad()})
     */
    public Backends(Executor cpu, int cpuThreads, Function<String, Executor> deviceExecutors, int deviceWorkers,
                    Map<String, BackendHealth> supplied, Ticker ticker, DoubleSupplier cpuLoad) {
        this.cpuLoad = cpuLoad;
        this.cpu = cpu;
        this.cpuThreads = cpuThreads;
        this.deviceExecutors = deviceExecutors;
        this.deviceWorkers = deviceWorkers;
        this.supplied = Map.copyOf(supplied);
        this.ticker = ticker;
    }

    Executor executor(String backend) {
        return backend.equals(CPU) ? cpu : devices.computeIfAbsent(backend, deviceExecutors);
    }

    double cpuLoad() {
        return cpuLoad.getAsDouble();
    }

    int cpuThreads() {
        return cpuThreads;
    }

    int deviceWorkers() {
        return deviceWorkers;
    }

    public LatencyModel fit(ModelKey model, String backend) {
        return fits.computeIfAbsent(new FitKey(model, backend), k -> new LatencyModel());
    }

    /** Whether a latency model of {@code model} on any backend exists (without creating one). */
    public boolean fitted(ModelKey model) {
        return fits.keySet().stream().anyMatch(k -> k.model().equals(model));
    }

    public void forget(ModelKey model) {
        fits.keySet().removeIf(k -> k.model().equals(model));
    }

    BackendHealth health(String backend) {
        BackendHealth h = supplied.get(backend);
        return h != null ? h : observed(backend);
    }

    /**
     * Why a batch of {@code rows} rows due in {@code remainingNanos} should not go to {@code backend} now
     * ({@code "unhealthy"} or {@code "saturated"}), or null when it may. A health report that throws is no report:
     * the backend counts as unhealthy (the exception is logged the first time), so a broken implementation of
     * {@link BackendHealth} sends batches to the CPU instead of stopping the thread that asked.
     */
    String passOver(String backend, ModelKey model, int rows, long remainingNanos) {
        try {
            BackendHealth h = health(backend);
            if (!h.healthy()) {
                return "unhealthy";
            }
            return h.predictedLatencyNanos(model, rows) > remainingNanos ? "saturated" : null;
        } catch (RuntimeException e) {
            healthReportFailed(backend, e);
            return "unhealthy";
        }
    }

    /** {@link BackendHealth#healthy()} of {@code backend}, false when the report throws (see {@link #passOver}). */
    boolean healthy(String backend) {
        try {
            return health(backend).healthy();
        } catch (RuntimeException e) {
            healthReportFailed(backend, e);
            return false;
        }
    }

    /** What a batch got when it asked for a backend's place ({@link #claim}). */
    enum Claim { REFUSED, GRANTED, TRIAL }

    /**
     * Takes a batch's place on {@code backend}: granted while its breaker is closed (or its health is supplied), and
     * once an open breaker's cool-down has passed, to one batch at a time as the trial.
     */
    Claim claim(String backend) {
        return supplied.containsKey(backend) ? Claim.GRANTED : observed(backend).claim();
    }

    private final Map<String, Boolean> reportedHealthFailures = new ConcurrentHashMap<>();

    private void healthReportFailed(String backend, RuntimeException e) {
        if (reportedHealthFailures.putIfAbsent(backend, Boolean.TRUE) == null) {
            LOG.log(Level.WARNING, "the health report of backend '" + backend + "' threw; treating it as unhealthy"
                    + " (logged once)", e);
        }
    }

    private static final Logger LOG = Logger.getLogger(Backends.class.getName());

    Observed observed(String backend) {
        return observed.computeIfAbsent(backend, Observed::new);
    }

    /**
     * Health of a backend nobody reports on, judged from this batcher's own calls: a breaker opens after
     * {@value #TRIP_AFTER} consecutive failures and, once {@code COOL_DOWN} has passed, lets one trial batch through at
     * a time; the trial's success closes it, its failure opens it for another cool-down. A call that did not run on
     * the device (every request expired first) or that failed on a request's own fault counts neither way. The
     * predicted latency is the version's fitted compute time, stretched by the batches queued ahead on the device.
     */
    final class Observed implements BackendHealth {
        static final int TRIP_AFTER = 3;
        static final long COOL_DOWN = TimeUnit.SECONDS.toNanos(5);

        private final String backend;
        private final AtomicInteger inFlight = new AtomicInteger();
        private final AtomicInteger consecutiveFailures = new AtomicInteger();
        private final AtomicBoolean trialOut = new AtomicBoolean();
        private volatile long openUntil;

        Observed(String backend) {
            this.backend = backend;
        }

        @Override
        public boolean healthy() {
            return closed() || cooledDown() && !trialOut.get();
        }

        private boolean closed() {
            return consecutiveFailures.get() < TRIP_AFTER;
        }

        private boolean cooledDown() {
            return ticker.nanos() - openUntil >= 0;
        }

        Claim claim() {
            if (closed()) {
                return Claim.GRANTED;
            }
            return cooledDown() && trialOut.compareAndSet(false, true) ? Claim.TRIAL : Claim.REFUSED;
        }

        @Override
        public long predictedLatencyNanos(ModelKey model, int rows) {
            double queuedAhead = (double) inFlight.get() / deviceWorkers;
            return (long) (fit(model, backend).predictNanos(rows) * (1 + queuedAhead));
        }

        @Override
        public int inFlight() {
            return inFlight.get();
        }

        void started() {
            inFlight.incrementAndGet();
        }

        /** A call on the device ended, {@code ok} or failed on the device's fault. */
        void finished(boolean ok, boolean trial) {
            inFlight.decrementAndGet();
            if (ok) {
                consecutiveFailures.set(0);
            } else if (consecutiveFailures.incrementAndGet() >= TRIP_AFTER) {
                openUntil = ticker.nanos() + COOL_DOWN;
            }
            if (trial) {
                trialOut.set(false);
            }
        }

        /** A batch given to the device ended without telling anything of its health. */
        void abandoned(boolean trial) {
            inFlight.decrementAndGet();
            if (trial) {
                trialOut.set(false);
            }
        }
    }
}
