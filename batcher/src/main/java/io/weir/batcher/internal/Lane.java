package io.weir.batcher.internal;

import com.lmax.disruptor.ExceptionHandler;
import com.lmax.disruptor.InsufficientCapacityException;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.dsl.Disruptor;
import com.lmax.disruptor.dsl.ProducerType;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.BatchingOptions.WaitMode;
import io.weir.batcher.policy.BatchPolicy;
import io.weir.batcher.policy.LatencyModel;
import io.weir.batcher.policy.PolicySpec;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelHandle;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Ticker;
import io.weir.runtime.WeirException;

import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One model version's path to its batches: a multi-producer Disruptor ring that event loops publish admitted requests
 * into, and one batching thread ({@link BatchFormer}) that forms batches and hands them to {@link BatchRunner}.
 *
 * <p>Design note. Threads: producers (event loops) run {@link #admit}; the batching thread owns everything in the
 * former; workers run batches and report back through the atomics below and {@link #poke()}.
 * Counters: {@code queuedRequests}/{@code queuedRows} count admitted requests not yet in a batch (in the ring or
 * forming), incremented by producers before publishing, decremented by the batching thread when a request joins a
 * batch or expires; {@code inFlightBatches}/{@code inFlightRows} count batches handed to a worker and not finished.
 * Admission prediction reads all four, so work already running is accounted for. {@code queuedRequests} is bounded by
 * {@code capacity}, and that bound, not the ring, decides "this version's queue is full" (answered at once with
 * RESOURCE_EXHAUSTED). The ring has twice that many slots because a slot is freed only when the batching thread
 * publishes its sequence after a run of events, which can trail the moment its request left the queue; without the
 * headroom, how many requests fit would depend on that thread's timing.
 * Lifecycle: {@code gate} counts producers inside {@link #admit}; {@link #close(boolean)} sets its CLOSED bit (no new
 * producer gets in), waits for those inside to leave, then shuts the ring down: the batching thread takes in what
 * was published, and in {@code onShutdown} either batches everything still waiting at once (an unload: what was
 * admitted before it is computed on the version it was admitted for, through a lease on {@code handle}, which the
 * registry retires only after this close returns) or answers it UNAVAILABLE (the dispatcher shutting down). Nothing
 * admitted is lost.
 * Reload: {@link #reconfigure} swaps {@code settings} and {@code handle}; the batching thread picks the new policy up
 * at its next decision. An operator's run-time override ({@link #override}) is kept with the lane, so a later reload
 * of the same version keeps it; the two writers of {@code settings} hold the lane's monitor, readers only the volatile.
 */
public final class Lane implements AutoCloseable {
    private static final int CLOSED = 1 << 30;
    private static final Logger LOG = Logger.getLogger(Lane.class.getName());

    /** A version's config with the batching policy built from it. */
    record Settings(ModelConfig config, PolicySpec spec, BatchPolicy policy) {
    }

    final ModelKey key;
    final ModelRegistry registry;
    final Ticker ticker;
    final Backends backends;
    final LaneMetrics metrics;
    final LongAdder duplicates;
    final int capacity;
    final int parallelism;
    final int maxInFlight;
    final AtomicInteger queuedRequests = new AtomicInteger();
    final AtomicLong queuedRows = new AtomicLong();
    final AtomicInteger inFlightBatches = new AtomicInteger();
    final AtomicLong inFlightRows = new AtomicLong();
    final FlushWaitStrategy waits;
    final BatchRunner runner;
    final BatchFormer former;
    private volatile JsonObject policyOverride;
    private final AtomicInteger gate = new AtomicInteger();
    private volatile Settings settings;
    /** The newest handle of the version this lane was given; leased only for batches formed after an unload. */
    private volatile ModelHandle handle;
    private volatile boolean computeOnShutdown;
    /** Counted down by the batching thread in {@code onStart}: from then on a shutdown drains the ring. */
    final CountDownLatch started = new CountDownLatch(1);
    /** Counted down by the batching thread when {@code onShutdown} is done: what waited is batched or answered. */
    final CountDownLatch shutDown = new CountDownLatch(1);
    private Disruptor<RequestSlot> disruptor;
    private RingBuffer<RequestSlot> ring;

    /**
     * @param handle a handle of the version (its config and backend list; leased by batches formed after an unload)
     */
    public Lane(ModelHandle handle, ModelRegistry registry, Ticker ticker, Backends backends, LaneMetrics metrics,
                JsonObject policyOverride, int capacity, WaitMode waitMode, LongAdder duplicates) {
        this.key = handle.key();
        this.registry = registry;
        this.ticker = ticker;
        this.backends = backends;
        this.metrics = metrics;
        this.policyOverride = policyOverride;
        this.capacity = capacity;
        this.duplicates = duplicates;
        this.handle = handle;
        long devices = handle.backends().stream().filter(b -> !b.equals(Backends.CPU)).count();
        this.parallelism = backends.cpuThreads() + (int) devices * backends.deviceWorkers();
        this.maxInFlight = parallelism + 1;
        this.settings = settingsFor(handle.config());
        this.waits = new FlushWaitStrategy(waitMode, ticker);
        this.runner = new BatchRunner(this);
        this.former = new BatchFormer(this);
        metrics.gauge("weir.batcher.queued.rows", "Rows admitted and not yet in a batch", queuedRows::get);
        metrics.gauge("weir.batcher.inflight.batches", "Batches computing or queued for a worker", inFlightBatches::get);
    }

    private Settings settingsFor(ModelConfig config) {
        PolicySpec spec = PolicySpec.of(config, policyOverride);
        return new Settings(config, spec, spec.create());
    }

    /** Starts the batching thread. */
    public void start() {
        disruptor = new Disruptor<>(RequestSlot::new, 2 * capacity,
                Thread.ofPlatform().daemon().name("weir-batcher-" + key).factory(), ProducerType.MULTI, waits);
        // Disruptor's default handler rethrows, which ends the batching thread for good. The former contains its own
        // faults (BatchFormer.decide); whatever still escapes is logged and the thread goes on with the next event.
        disruptor.setDefaultExceptionHandler(new ExceptionHandler<>() {
            @Override
            public void handleEventException(Throwable e, long sequence, RequestSlot slot) {
                LOG.log(Level.SEVERE, "the batching thread of " + key + " failed on event " + sequence, e);
            }

            @Override
            public void handleOnStartException(Throwable e) {
                LOG.log(Level.SEVERE, "the batching thread of " + key + " failed to start", e);
            }

            @Override
            public void handleOnShutdownException(Throwable e) {
                LOG.log(Level.SEVERE, "the batching thread of " + key + " failed while shutting down", e);
            }
        });
        disruptor.handleEventsWith(former);
        ring = disruptor.start();
        // Disruptor's shutdown() waits for a backlog only on processors already running: one closed before its
        // thread ran would halt it with everything published still in the ring, never answered.
        await(started, "start");
    }

    private void await(CountDownLatch latch, String what) {
        try {
            if (!latch.await(10, TimeUnit.SECONDS)) {
                LOG.severe(() -> "the batching thread of " + key + " did not " + what + " in 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    Settings settings() {
        return settings;
    }

    public ModelConfig config() {
        return settings.config();
    }

    public String policyName() {
        return settings.policy().name();
    }

    /** A reload of the same version: new config and a fresh policy, taken up at the next batching decision. */
    public synchronized void reconfigure(ModelHandle reloaded) {
        handle = reloaded;
        reconfigure(reloaded.config());
    }

    synchronized void reconfigure(ModelConfig config) {
        settings = settingsFor(config);
    }

    /**
     * A lease on the version for a batch about to start: the registry's newest handle, or, once the version was
     * unloaded, the handle this lane last had, for as long as the registry has not retired it (while this lane
     * closes). Empty when neither can be leased.
     */
    Optional<ModelHandle> lease() {
        Optional<ModelHandle> newest = registry.acquire(key);
        if (newest.isPresent()) {
            return newest;
        }
        ModelHandle last = handle;
        return last.tryAcquire() ? Optional.of(last) : Optional.empty();
    }

    /** Whether the batching thread computes what still waits when the ring shuts down ({@link #close(boolean)}). */
    boolean computeOnShutdown() {
        return computeOnShutdown;
    }

    /**
     * Batches with {@code override} instead of the config's own {@code batching} (null: the config's again) from the
     * next decision on, with a fresh policy. The compute fit belongs to the backend, not the policy, so it carries
     * over.
     *
     * @throws IllegalArgumentException when {@code override} is not a valid policy for this version; nothing changes
     */
    public synchronized void override(JsonObject override) {
        ModelConfig config = settings.config();
        PolicySpec spec = PolicySpec.of(config, override);
        policyOverride = override;
        settings = new Settings(config, spec, spec.create());
    }

    /** The policy's settings, as {@link PolicySpec#toString()} prints them. */
    public String policySpec() {
        return settings.spec().toString();
    }

    /**
     * Admits the parts of one request (one part unless it was split): refused at once when work is waiting or running
     * and the predicted latency would miss the deadline, or when the version's queue is full; otherwise all parts are
     * published together.
     *
     * @return null when admitted, else the error to answer with
     */
    public WeirException admit(List<Pending> parts, int rows, long now) {
        WeirException shed = shedOnPrediction(rows, parts.getFirst().deadlineNanos, now);
        if (shed != null) {
            return shed;
        }
        if (!enter()) {
            return WeirException.unavailable(key + " is being unloaded");
        }
        try {
            int n = parts.size();
            WeirException full = reserve(n, rows);
            if (full != null) {
                return full;
            }
            long hi;
            try {
                hi = ring.tryNext(n);
            } catch (InsufficientCapacityException e) {
                queuedRequests.addAndGet(-n);
                queuedRows.addAndGet(-rows);
                return full(rows);
            }
            long lo = hi - n + 1;
            for (int i = 0; i < n; i++) {
                ring.get(lo + i).pending = parts.get(i);
            }
            ring.publish(lo, hi);
            return null;
        } finally {
            gate.decrementAndGet();
        }
    }

    /**
     * The first check of {@link #admit}: the refusal (counted) when work is waiting or running and the predicted
     * latency of {@code rows} more would miss {@code deadline}; null to go on. (The policy simulation admits through
     * this too, so that it sheds exactly as a lane does.)
     */
    WeirException shedOnPrediction(int rows, long deadline, long now) {
        // An idle lane always admits: its request is the probe that refreshes the latency model. Shedding on the
        // model alone would keep shedding forever after a transient slowdown (no batch runs, no new observation).
        boolean idle = queuedRows.get() + inFlightRows.get() == 0;
        if (idle) {
            return null;
        }
        long predicted = predictLatencyNanos(rows);
        if (now + predicted <= deadline) {
            return null;
        }
        metrics.rejected("predicted_wait");
        return WeirException.exhausted(key + " is overloaded: predicted latency " + predicted / 1_000_000
                + " ms exceeds the request's remaining budget " + (deadline - now) / 1_000_000 + " ms",
                retryAfterSeconds(predicted));
    }

    /**
     * Counts {@code requests} requests of {@code rows} rows into the queue, or refuses them (counted) when the queue
     * would hold more than {@code capacity} requests; null when counted in. (The policy simulation, which hands
     * requests to the batch former without the ring, admits through this too.)
     */
    WeirException reserve(int requests, int rows) {
        if (queuedRequests.addAndGet(requests) > capacity) {
            queuedRequests.addAndGet(-requests);
            return full(rows);
        }
        queuedRows.addAndGet(rows);
        return null;
    }

    private WeirException full(int rows) {
        long predicted = predictLatencyNanos(rows);
        metrics.rejected("ring_full");
        return WeirException.exhausted("the queue of " + key + " is full", retryAfterSeconds(predicted));
    }

    private static long retryAfterSeconds(long predictedNanos) {
        return Math.max(1, (predictedNanos + 999_999_999L) / 1_000_000_000L);
    }

    private boolean enter() {
        while (true) {
            int v = gate.get();
            if ((v & CLOSED) != 0) {
                return false;
            }
            if (gate.compareAndSet(v, v + 1)) {
                return true;
            }
        }
    }

    /**
     * Predicted enqueue-to-answer time of a new request of {@code rows} rows: the rows ahead of it (waiting and
     * running) drained in batches at the policy's cap across this version's workers, then its own compute. Until
     * enough batches were observed to fit compute time, it predicts 0: an unknown model is not shed.
     */
    long predictLatencyNanos(int rows) {
        BatchPolicy policy = settings.policy();
        LatencyModel.Fit fit = backends.fit(key, primaryBackend()).fit();
        if (fit.observations() < 3) {
            return 0;
        }
        int cap = policy.maxBatchRows();
        long ahead = queuedRows.get() + inFlightRows.get();
        double batches = policy.name().equals("none")
                ? queuedRequests.get() + inFlightBatches.get()
                : Math.ceil((double) ahead / cap);
        double drain = (batches * fit.fixedNanos() + ahead * fit.perRowNanos()) / parallelism;
        return (long) (drain + fit.predictNanos(Math.min(rows, cap)));
    }

    /** The backend the next batch would most likely run on: the first healthy one in the handle's order. */
    String primaryBackend() {
        ModelHandle h = registry.peek(key).orElse(null);
        if (h != null) {
            for (String b : h.backends()) {
                if (b.equals(Backends.CPU) || backends.healthy(b)) {
                    return b;
                }
            }
        }
        return Backends.CPU;
    }

    /** A worker finished a batch: the batching thread should decide again (a slot is free). */
    void poke() {
        waits.poke();
    }

    public int queuedRequests() {
        return queuedRequests.get();
    }

    public int inFlightBatches() {
        return inFlightBatches.get();
    }

    public LaneMetrics metrics() {
        return metrics;
    }

    /** Whether {@link #close} has begun: the version is unloaded (or the dispatcher closing) and forgotten. */
    boolean closed() {
        return (gate.get() & CLOSED) != 0;
    }

    /** Shuts the lane down answering what still waits UNAVAILABLE: the dispatcher is closing. */
    @Override
    public void close() {
        close(false);
    }

    /**
     * @param computeWaiting true when the version is being unloaded and is still leasable: what was admitted is
     *                       batched at once and computed on it; false: answered UNAVAILABLE
     */
    public void close(boolean computeWaiting) {
        computeOnShutdown = computeWaiting;
        while (true) {
            int v = gate.get();
            if ((v & CLOSED) != 0 || gate.compareAndSet(v, v | CLOSED)) {
                break;
            }
        }
        while ((gate.get() & ~CLOSED) != 0) {
            Thread.onSpinWait();
        }
        if (disruptor != null) {
            try {
                disruptor.shutdown(10, TimeUnit.SECONDS);
            } catch (com.lmax.disruptor.TimeoutException e) {
                disruptor.halt();
            }
            // halt() only signals the batching thread: its onShutdown still has to batch (and so lease the version,
            // which the registry retires once this returns) or answer what waits.
            await(shutDown, "finish its shutdown");
        }
        // Batches formed just now still run: their meters are detached from here on (LaneMetrics.close), so that a
        // version loaded again under the same key registers its own.
        metrics.close();
    }
}
