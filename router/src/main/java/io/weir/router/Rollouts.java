package io.weir.router;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.InferenceDispatcher;
import io.weir.router.internal.AuditLog;
import io.weir.router.internal.DefaultRolloutAdmin;
import io.weir.router.internal.DefaultRouter;
import io.weir.router.internal.DiffLog;
import io.weir.router.internal.GoldenSetReplay;
import io.weir.router.internal.RolloutGuard;
import io.weir.router.internal.RolloutStats;
import io.weir.router.internal.RolloutStore;
import io.weir.router.internal.ShadowMirror;
import io.weir.runtime.Ticker;
import io.weir.runtime.WeirException;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The router module, assembled: rollout store (config file, validation, audit), router, shadow mirror, rollout guard and
 * admin operations. Build it with {@link #builder}, {@link #start()} it once the models are loaded, hand
 * {@link #router()} to the request path and {@link #admin()} to the admin API, and {@link #close()} it at shutdown.
 *
 * <p>Threads: {@link #start()} starts the shadow workers and, unless {@link Builder#tickEvery} is null, one daemon
 * scheduler thread that calls {@link #tick()} (poll the config file, then run the guard). Tests leave it null and call
 * {@link #tick()} themselves with an injected {@link Ticker}.
 *
 * <p>Replicas sharing rollouts: one leads (the default), the others {@link #follow} it. {@link #tick}, {@link #lead},
 * {@link #exportWindows} and {@link #absorbWindows} run under this object's monitor, so a replica that stops leading
 * decides nothing after {@link #lead} returns, and its windows change hands (the guard's, or the follower's own) in
 * one step.
 */
public final class Rollouts implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(Rollouts.class.getName());

    private final RolloutStore store;
    private final RolloutGuard guard;
    private final RolloutStats stats;
    private final ShadowMirror shadow;
    private final Router router;
    private final RolloutAdmin admin;
    private final Duration tickEvery;
    private ScheduledExecutorService scheduler;
    /** Whether this replica decides its rollouts (see {@link #lead}); a standalone server always does. */
    private volatile boolean leading;

    private Rollouts(Builder b) {
        MeterRegistry meters = b.meters != null ? b.meters : new SimpleMeterRegistry();
        Ticker ticker = b.ticker != null ? b.ticker : b.dispatcher.ticker();
        this.store = new RolloutStore(b.catalog, new AuditLog(b.auditFile, b.clock, b.auditMemory), b.configFile);
        RolloutStats stats = new RolloutStats(meters);
        this.stats = stats;
        DiffLog diffs = new DiffLog(b.diffFile, b.diffMemory, b.diffSampleRate);
        this.shadow = new ShadowMirror(b.dispatcher, b.catalog, stats, diffs, meters, b.clock, b.shadowQueue,
                b.shadowWorkers, b.shadowTimeout);
        GoldenCheck golden = b.golden;
        if (golden == null && b.goldenRoot != null) {
            golden = new GoldenSetReplay(b.goldenRoot, b.catalog, b.dispatcher, b.goldenTimeout);
        }
        this.guard = new RolloutGuard(store, stats, b.catalog, golden, ticker, meters);
        this.router = new DefaultRouter(store, b.catalog, stats, shadow);
        this.admin = new DefaultRolloutAdmin(store, guard, diffs);
        this.tickEvery = b.tickEvery;
        this.leading = b.leading;
    }

    /**
     * @param catalog    which versions are loaded ({@link ModelCatalog#of(io.weir.runtime.ModelRegistry)})
     * @param dispatcher where shadow requests and golden replays go (the same one the gateway uses)
     */
    public static Builder builder(ModelCatalog catalog, InferenceDispatcher dispatcher) {
        return new Builder(catalog, dispatcher);
    }

    public Router router() {
        return router;
    }

    public RolloutAdmin admin() {
        return admin;
    }

    /**
     * Loads the config file (throws {@link WeirException} INVALID_ARGUMENT when it is invalid: with
     * nothing serving yet there is no old config to keep), starts the shadow workers and the scheduler.
     */
    public synchronized void start() {
        store.loadFile();
        shadow.start();
        if (tickEvery != null && scheduler == null) {
            scheduler = Executors.newSingleThreadScheduledExecutor(
                    r -> Thread.ofPlatform().daemon().name("weir-rollout-guard").unstarted(r));
            scheduler.scheduleWithFixedDelay(this::tickQuietly, tickEvery.toNanos(), tickEvery.toNanos(), TimeUnit.NANOSECONDS);
        }
    }

    /**
     * Applies a changed config file, then lets the guard close windows, judge gates, advance or roll back — on the
     * leading replica only: a follower's rollouts are the leader's ({@link #follow}).
     */
    public synchronized void tick() {
        if (!leading) {
            return; // under the monitor: a replica that has just stopped leading decides nothing more
        }
        store.pollFile();
        guard.tick();
    }

    /**
     * Makes this replica the one that decides its cluster's rollouts (the file, the admin API, the guard), or a follower
     * that takes them from the leader. A follower's guard forgets its windows and stages: when it leads again it opens
     * fresh windows on the stage it then serves, so that it never judges a window it did not watch whole, and resumes
     * the stage's time and judged requests from the leader's progress it kept ({@link #followProgress}), if any.
     */
    public synchronized void lead(boolean lead) {
        lead(lead, null);
    }

    /**
     * As {@link #lead(boolean)}; a replica that starts to lead takes its rollout file as already applied when it holds
     * what the previous leader last read or wrote ({@code previousLeadersFileDigest}, see
     * {@link RolloutStore#takeFileAsSeenIf}), so that it does not undo what the cluster decided since.
     */
    public synchronized void lead(boolean lead, String previousLeadersFileDigest) {
        if (leading == lead) {
            return;
        }
        leading = lead;
        if (!lead) {
            guard.forget();
            followWindows();
        } else {
            store.takeFileAsSeenIf(previousLeadersFileDigest);
        }
        LOG.info(lead ? "this replica now decides the rollouts" : "this replica now follows the cluster's rollout leader");
    }

    public boolean leading() {
        return leading;
    }

    /** SHA-256 of the rollout file as this replica last read or wrote it (null without one): see {@link #lead(boolean, String)}. */
    public String fileDigest() {
        return store.fileDigest();
    }

    /** Increases with every change of the rollouts this replica serves (read it before {@link #state()}). */
    public long revision() {
        return store.table().revision();
    }

    /**
     * Runs {@code r} after every change of the rollouts (under the store's lock: hand the work off), so that a leader
     * can push a change to its followers at once instead of at their next sync.
     */
    public void setOnChange(Runnable r) {
        store.setOnPublish(r);
    }

    /** Every model's rollout as {@code {"<model>": <rollout>}}: what a follower of this replica applies. */
    public JsonObject state() {
        JsonObject models = new JsonObject();
        store.all().forEach((model, c) -> models.put(model, c.toJson()));
        return models;
    }

    /**
     * Applies the leader's {@link #state()} (model by model, a model that does not parse here refused alone; see
     * {@link RolloutStore#follow}).
     */
    public Followed follow(JsonObject leaderState, String leader) {
        Map<String, RolloutConfig> rollouts = new TreeMap<>();
        Map<String, String> unparsed = new TreeMap<>();
        Map<String, String> unparsedPrimaries = new TreeMap<>();
        for (String model : leaderState.fieldNames()) {
            try {
                if (!(leaderState.getValue(model) instanceof JsonObject body)) {
                    throw WeirException.invalid("the leader's rollout of '" + model + "' is not an object");
                }
                rollouts.put(model, RolloutConfig.fromJson(model, body));
            } catch (WeirException | ClassCastException e) {
                unparsed.put(model, "does not parse here: " + e.getMessage());
                if (leaderState.getValue(model) instanceof JsonObject body && body.getValue("primary") instanceof String p) {
                    unparsedPrimaries.put(model, p);
                }
            }
        }
        Followed outcome = store.follow(rollouts, unparsed, unparsedPrimaries, leader);
        if (outcome.changed()) { // the same state comes every sync: its windows are open since it came (or lead(false))
            synchronized (this) {
                if (!leading) {
                    followWindows();
                }
            }
        }
        return outcome;
    }

    /**
     * The guard's progress through each stage while this replica leads (empty otherwise), lock-free: what followers keep
     * ({@link #followProgress}) so that the next leader resumes a stage where this one was.
     */
    public JsonObject progress() {
        return leading ? guard.progress() : new JsonObject();
    }

    /** A follower keeps its leader's {@link #progress}, to resume each stage from it if it leads next; ignored while leading. */
    public void followProgress(JsonObject leaderProgress) {
        if (!leading) {
            guard.inherit(leaderProgress);
        }
    }

    /**
     * A follower records what its users see in windows of its own, for the versions of every running canary it
     * serves, so that the leader can judge the whole fleet's traffic ({@link #exportWindows}); windows of rollouts it
     * no longer serves are dropped. Caller holds this object's monitor.
     */
    private void followWindows() {
        Map<String, RolloutConfig> all = store.all();
        for (String model : stats.windowed()) {
            RolloutConfig c = all.get(model);
            if (c == null || c.canary() == null || c.status() != RolloutConfig.Status.RUNNING) {
                stats.stop(model);
            }
        }
        all.forEach((model, c) -> {
            if (c.canary() != null && c.status() == RolloutConfig.Status.RUNNING) {
                stats.open(model, c.primary(), c.canary(), c.shadow());
            }
        });
    }

    /**
     * What this follower's users saw since the last call, per model (then forgotten here): for the leader's
     * {@link #absorbWindows}. A leader hands nothing over (empty): its windows are its guard's.
     */
    public synchronized JsonObject exportWindows() {
        return leading ? new JsonObject() : stats.export();
    }

    /**
     * Adds a follower's {@link #exportWindows} to this leader's current windows, so that the gates, {@code
     * min_requests} and {@code min_window_requests} count every replica's traffic. A follower's window for versions
     * other than this leader's current ones is dropped. Ignored unless this replica leads.
     *
     * @return the candidate samples absorbed
     * @throws WeirException INVALID_ARGUMENT when it is not an export
     */
    public synchronized long absorbWindows(JsonObject export) {
        if (!leading) {
            return 0;
        }
        try {
            return stats.absorb(export);
        } catch (IllegalArgumentException e) {
            throw WeirException.invalid("a follower's windows: " + e.getMessage());
        }
    }

    private void tickQuietly() {
        try {
            tick();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "rollout tick failed", e);
        }
    }

    /** Shadow work so far: {@code {"submitted", "dropped", "compared", "failed", "queued"}}. */
    public JsonObject shadowCounts() {
        return new JsonObject().put("submitted", shadow.submitted()).put("dropped", shadow.dropped())
                .put("compared", shadow.compared()).put("failed", shadow.failed()).put("queued", shadow.queued());
    }

    @Override
    public synchronized void close() {
        if (scheduler != null) {
            scheduler.shutdownNow();
            scheduler = null;
        }
        shadow.close();
    }

    /** Settings; every one but the catalog and the dispatcher has a default. */
    public static final class Builder {
        private final ModelCatalog catalog;
        private final InferenceDispatcher dispatcher;
        private Ticker ticker;
        private Clock clock = Clock.systemUTC();
        private MeterRegistry meters;
        private Path configFile;
        private Path auditFile;
        private int auditMemory = 1_000;
        private Path diffFile;
        private int diffMemory = 1_000;
        private double diffSampleRate = 0.01;
        private int shadowQueue = 1_024;
        private int shadowWorkers = 2;
        private Duration shadowTimeout = Duration.ofSeconds(2);
        private GoldenCheck golden;
        private Path goldenRoot;
        private Duration goldenTimeout = Duration.ofSeconds(5);
        private Duration tickEvery = Duration.ofSeconds(1);
        private boolean leading = true;

        private Builder(ModelCatalog catalog, InferenceDispatcher dispatcher) {
            this.catalog = Objects.requireNonNull(catalog);
            this.dispatcher = Objects.requireNonNull(dispatcher);
        }

        /** False to start as a cluster follower, deciding nothing until {@link Rollouts#lead} says so; default true. */
        public Builder leading(boolean v) {
            leading = v;
            return this;
        }

        /** The clock windows and stage durations run on; default the dispatcher's. */
        public Builder ticker(Ticker v) {
            ticker = v;
            return this;
        }

        /** Wall clock for audit and diff timestamps; default UTC system clock. */
        public Builder clock(Clock v) {
            clock = v;
            return this;
        }

        /** Where per-arm and shadow meters go; default a private SimpleMeterRegistry. */
        public Builder meters(MeterRegistry v) {
            meters = v;
            return this;
        }

        /** The rollout config file, watched and written back; default none (rollouts live in memory). */
        public Builder configFile(Path v) {
            configFile = v;
            return this;
        }

        /** JSON-lines audit log file; default none (the last {@code memory} records are kept in memory either way). */
        public Builder auditLog(Path v, int memory) {
            auditFile = v;
            auditMemory = memory;
            return this;
        }

        /** Shadow diff log: JSON-lines file (or null), entries kept in memory, share of comparisons sampled. */
        public Builder diffLog(Path file, int memory, double sampleRate) {
            diffFile = file;
            diffMemory = memory;
            diffSampleRate = sampleRate;
            return this;
        }

        /** Shadow queue capacity (more is dropped), worker threads (in-flight bound) and per-request timeout. */
        public Builder shadow(int queueCapacity, int workers, Duration timeout) {
            shadowQueue = queueCapacity;
            shadowWorkers = workers;
            shadowTimeout = timeout;
            return this;
        }

        /** A golden check to use (wins over {@link #goldenSetsFrom}). */
        public Builder goldenCheck(GoldenCheck v) {
            golden = v;
            return this;
        }

        /** Replay {@code <repositoryRoot>/<model>/<version>/golden.jsonl} for the golden gate. */
        public Builder goldenSetsFrom(Path repositoryRoot, Duration perRequestTimeout) {
            goldenRoot = repositoryRoot;
            goldenTimeout = perRequestTimeout;
            return this;
        }

        /** How often the scheduler ticks; null for no scheduler (call {@link Rollouts#tick()} yourself). */
        public Builder tickEvery(Duration v) {
            tickEvery = v;
            return this;
        }

        public Rollouts build() {
            return new Rollouts(this);
        }
    }
}
