package io.weir.batcher;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.internal.Backends;
import io.weir.batcher.internal.Completion;
import io.weir.batcher.internal.Lane;
import io.weir.batcher.internal.LaneMetrics;
import io.weir.batcher.internal.Pending;
import io.weir.batcher.internal.SplitJoin;
import io.weir.batcher.policy.PolicySpec;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelHandle;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.Ticker;
import io.weir.runtime.WeirException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;
import java.util.logging.Logger;

/**
 * The batching dispatcher: requests from every event loop meet on one Disruptor ring per model version, and a
 * batching thread per version forms batches under the version's policy ({@code none}, {@code fixed},
 * {@code adaptive}; see {@link io.weir.batcher.policy.PolicySpec}) and runs them on the preferred backend, falling back
 * to the CPU pool.
 *
 * <p>Design note. Threads: callers (event loops) run {@link #submit}, which validates, splits oversized requests,
 * applies admission control and publishes without blocking; one batching thread per version forms batches; the CPU
 * pool ({@code cpuThreads} threads shared by all versions) and one executor per non-CPU backend compute them and
 * complete the futures (callers hop back to their context with {@link VertxCompletion}). {@code lanes} holds one lane
 * per version, created when the version loads (or on first use, for versions loaded before the dispatcher existed)
 * and torn down when the registry unloads the version; a reload keeps the lane and swaps its config. A run-time
 * policy override ({@link #overridePolicy}) and the creation of a lane hold the dispatcher's monitor, so a version that
 * loads while an override is applied gets it either way. Every admitted request is answered exactly once: by its
 * batch (an unloaded version still computes what it admitted before the unload), by expiry, or with UNAVAILABLE when
 * the dispatcher closes before it ran. Deadlines: a request's deadline is the earlier of its own
 * {@code deadlineNanos} and enqueue + the model's latency budget.
 */
public final class BatchingDispatcher implements InferenceDispatcher {
    private static final Logger LOG = Logger.getLogger(BatchingDispatcher.class.getName());
    private static final long CLOSE_WAIT_SECONDS = 10;
    private final ModelRegistry registry;
    private final Ticker ticker;
    private final MeterRegistry meters;
    private final BatchingOptions options;
    private final ThreadPoolExecutor cpuPool;
    private final Map<String, ExecutorService> devicePools = new ConcurrentHashMap<>();
    private final Backends backends;
    private final Map<ModelKey, Lane> lanes = new ConcurrentHashMap<>();
    /** Operators' run-time policies per model name ({@link #overridePolicy}); guarded by {@code this} with lane creation. */
    private final Map<String, JsonObject> modelOverrides = new ConcurrentHashMap<>();
    private final LongAdder duplicates = new LongAdder();
    private volatile boolean closed;

    /**
     * @param cpuThreads threads of the CPU inference pool (usually the number of cores)
     */
    public BatchingDispatcher(ModelRegistry registry, Ticker ticker, int cpuThreads, MeterRegistry meters,
                              BatchingOptions options) {
        if (cpuThreads < 1) {
            throw new IllegalArgumentException("cpuThreads must be at least 1");
        }
        this.registry = registry;
        this.ticker = ticker;
        this.meters = meters;
        this.options = options;
        this.cpuPool = new ThreadPoolExecutor(cpuThreads, cpuThreads, 0, TimeUnit.MILLISECONDS,
                new LinkedBlockingQueue<>(), Thread.ofPlatform().daemon().name("weir-cpu-", 1).factory());
        this.backends = new Backends(cpuPool, cpuThreads, name -> devicePools.computeIfAbsent(name,
                k -> Executors.newFixedThreadPool(options.deviceWorkers(),
                        Thread.ofPlatform().daemon().name("weir-" + k + "-worker").factory())),
                options.deviceWorkers(), options.backendHealth(), ticker, options.cpuLoad());
        Gauge.builder("weir.batcher.host.cpu.load", options.cpuLoad(), DoubleSupplier::getAsDouble)
                .description("Host CPU load the adaptive policy sees, 0 to 1 (0 when not measured)").register(meters);
        FunctionCounter.builder("weir.batcher.double.answers", duplicates, LongAdder::doubleValue)
                .description("Attempts to answer a request a second time (must stay 0)").register(meters);
        registry.onChange(this::onRegistryChange);
    }

    @Override
    public Ticker ticker() {
        return ticker;
    }

    @Override
    public CompletableFuture<InferenceResult> submit(InferenceRequest request) {
        CompletableFuture<InferenceResult> future = new CompletableFuture<>();
        try {
            WeirException refused = admit(request, future);
            if (refused != null) {
                future.completeExceptionally(refused);
            }
        } catch (RuntimeException e) {
            future.completeExceptionally(e instanceof WeirException w ? w
                    : new WeirException(ErrorCode.INTERNAL, "could not queue the request", 0, e));
        }
        return future;
    }

    private WeirException admit(InferenceRequest request, CompletableFuture<InferenceResult> future) {
        if (closed) {
            return WeirException.unavailable("the dispatcher is shut down");
        }
        ModelKey key = request.model();
        Optional<ModelHandle> peeked = registry.peek(key);
        if (peeked.isEmpty()) {
            return WeirException.unavailable(key + " is not loaded");
        }
        Lane lane = lane(peeked.get());
        ModelConfig config = lane.config();
        String invalid = validate(request, config);
        if (invalid != null) {
            lane.metrics().rejected("invalid");
            return WeirException.invalid(invalid);
        }
        long now = ticker.nanos();
        long deadline = Math.min(request.deadlineNanos(), request.enqueueNanos() + config.latencyBudgetNanos());
        if (deadline - now <= 0) {
            lane.metrics().timedOut("admission");
            return WeirException.deadline("deadline passed before the request was queued");
        }
        int max = config.maxBatchRows();
        List<Pending> parts;
        if (request.rows() <= max) {
            parts = List.of(new Pending(request, deadline, futureCompletion(future), duplicates));
        } else if (config.oversize() == ModelConfig.Oversize.SPLIT) {
            parts = new ArrayList<>();
            for (SplitJoin.Part part : SplitJoin.split(request, max, future)) {
                parts.add(new Pending(part.request(), deadline, part.completion(), duplicates));
            }
            if (parts.size() > options.ringSize()) {
                lane.metrics().rejected("oversize");
                return WeirException.invalid(request.rows() + " rows need " + parts.size()
                        + " batches, more than the queue of " + key + " holds");
            }
        } else {
            lane.metrics().rejected("oversize");
            return WeirException.invalid(request.rows() + " rows exceed the max batch of " + max + " rows of " + key);
        }
        return lane.admit(parts, request.rows(), now);
    }

    private static Completion futureCompletion(CompletableFuture<InferenceResult> future) {
        return new Completion() {
            @Override
            public void succeed(InferenceResult result) {
                future.complete(result);
            }

            @Override
            public void fail(Throwable error) {
                future.completeExceptionally(error);
            }
        };
    }

    /** Every declared input present with the request's row count and the declared type and row shape. */
    private static String validate(InferenceRequest request, ModelConfig config) {
        for (TensorSpec spec : config.inputs()) {
            Tensor t = request.inputs().get(spec.name());
            if (t == null) {
                return "missing input '" + spec.name() + "'";
            }
            if (!t.conformsTo(spec)) {
                return "input '" + spec.name() + "' is " + t + ", declared " + spec;
            }
            if (t.rows() != request.rows()) {
                return "input '" + spec.name() + "' has " + t.rows() + " rows, the request " + request.rows();
            }
        }
        return null;
    }

    /**
     * The version's lane, created on first use. Creation checks again, under the monitor that removal also holds,
     * that the version is still loaded and the dispatcher open: a caller that peeked the version just before it was
     * unloaded would otherwise build a lane nothing ever closes (its thread, its meters).
     */
    Lane lane(ModelHandle handle) {
        Lane lane = lanes.get(handle.key());
        if (lane != null) {
            return lane;
        }
        synchronized (this) {
            if (closed) {
                throw WeirException.unavailable("the dispatcher is shut down");
            }
            if (registry.peek(handle.key()).isEmpty()) {
                throw WeirException.unavailable(handle.key() + " is not loaded");
            }
            return lanes.computeIfAbsent(handle.key(), k -> newLane(handle));
        }
    }

    private Lane newLane(ModelHandle handle) {
        ModelKey k = handle.key();
        LaneMetrics metrics = new LaneMetrics(k, meters, ticker, options.snapshotInterval().toNanos());
        Lane created;
        try {
            created = new Lane(handle, registry, ticker, backends, metrics,
                    modelOverrides.getOrDefault(k.model(), options.policyOverride()),
                    options.ringSize(), options.waitMode(), duplicates);
        } catch (IllegalArgumentException e) {
            metrics.close();
            throw new WeirException(ErrorCode.INTERNAL, "invalid batching config of " + k + ": " + e.getMessage());
        }
        created.start();
        return created;
    }

    private void onRegistryChange(ModelKey key) {
        Optional<ModelHandle> now = registry.peek(key);
        if (now.isPresent()) {
            Lane lane = lanes.get(key);
            if (lane != null) {
                lane.reconfigure(now.get());
            } else if (!closed) {
                // Build the ring and start its thread when the version loads, so that the first request does not
                // pay for them out of its latency budget. A request may have built it meanwhile from the handle it
                // peeked before this load: the lane takes the newest handle either way.
                try {
                    lane(now.get()).reconfigure(now.get());
                } catch (WeirException e) {
                    if (e.code() != ErrorCode.UNAVAILABLE) {
                        throw e;
                    }
                    // unloaded again meanwhile (its own notification follows) or the dispatcher closed: nothing to build
                }
            }
            return;
        }
        Lane lane;
        synchronized (this) {
            lane = lanes.remove(key);
        }
        if (lane != null) {
            lane.close(true); // the registry retires the version's handle only after this: what waits is computed on it
        }
        backends.forget(key);
    }

    /** Whether a latency model of {@code key}'s compute is held (tests: an unloaded version's is forgotten for good). */
    boolean knowsComputeOf(ModelKey key) {
        return backends.fitted(key);
    }

    /**
     * Replaces the batching policy of every version of {@code model} at run time, loaded or loaded later, until the
     * next call (null: back to {@link BatchingOptions#policyOverride()} or, without one, each version's own config).
     * Each version gets a fresh policy at its next batching decision; requests already waiting are batched under it.
     * The override is checked against every loaded version first, so a bad one changes nothing.
     *
     * @return each loaded version's policy settings now, by version
     * @throws WeirException INVALID_ARGUMENT naming the bad key
     */
    public synchronized Map<String, String> overridePolicy(String model, JsonObject override) {
        JsonObject effective = override != null ? override.copy() : options.policyOverride();
        List<Lane> affected = lanes.entrySet().stream().filter(e -> e.getKey().model().equals(model))
                .map(Map.Entry::getValue).toList();
        for (Lane lane : affected) {
            try {
                PolicySpec.of(lane.config(), effective);
            } catch (IllegalArgumentException | ClassCastException e) {
                throw WeirException.invalid(e.getMessage());
            }
        }
        if (override != null) {
            modelOverrides.put(model, effective);
        } else {
            modelOverrides.remove(model);
        }
        affected.forEach(lane -> lane.override(effective));
        return policies(model);
    }

    /** Each loaded version's policy settings ({@link PolicySpec#toString()}), by version. */
    public Map<String, String> policies(String model) {
        Map<String, String> out = new TreeMap<>();
        lanes.forEach((k, lane) -> {
            if (k.model().equals(model)) {
                out.put(k.version(), lane.policySpec());
            }
        });
        return out;
    }

    /** The run-time override of {@code model}'s policy ({@link #overridePolicy}), if one is set. */
    public Optional<JsonObject> policyOverride(String model) {
        return Optional.ofNullable(modelOverrides.get(model)).map(JsonObject::copy);
    }

    /** The policy a version batches with right now ({@code none}, {@code fixed}, {@code adaptive}), if it has a lane. */
    public Optional<String> policyOf(ModelKey key) {
        return Optional.ofNullable(lanes.get(key)).map(Lane::policyName);
    }

    /**
     * p50/p95/p99 of queue wait, compute and total per version and backend over the last interval (at least
     * {@link BatchingOptions#snapshotInterval()} long; readers share the interval).
     */
    public List<LatencySnapshot> latencySnapshots() {
        List<LatencySnapshot> out = new ArrayList<>();
        lanes.values().forEach(l -> out.addAll(l.metrics().snapshot()));
        return out;
    }

    /** {@link #latencySnapshots()} of {@code model}'s versions only (the others' recorders are not rolled). */
    public List<LatencySnapshot> latencySnapshots(String model) {
        List<LatencySnapshot> out = new ArrayList<>();
        lanes.forEach((k, l) -> {
            if (k.model().equals(model)) {
                out.addAll(l.metrics().snapshot());
            }
        });
        return out;
    }

    /** Attempts to answer an already answered request; 0 unless something is badly wrong. */
    public long doubleAnswers() {
        return duplicates.sum();
    }

    @Override
    public void close() {
        List<Lane> open;
        synchronized (this) {
            closed = true;
            open = List.copyOf(lanes.values());
            lanes.clear();
        }
        open.forEach(Lane::close);
        cpuPool.shutdown();
        devicePools.values().forEach(ExecutorService::shutdown);
        // The registry closes the backends next: batches still computing should end first, not in a closed runtime.
        awaitTermination(cpuPool);
        devicePools.values().forEach(BatchingDispatcher::awaitTermination);
    }

    private static void awaitTermination(ExecutorService pool) {
        try {
            if (!pool.awaitTermination(CLOSE_WAIT_SECONDS, TimeUnit.SECONDS)) {
                LOG.warning(() -> "batches still computing " + CLOSE_WAIT_SECONDS + " s after the dispatcher closed");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
