package io.weir.router.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.router.GoldenCheck;
import io.weir.router.ModelCatalog;
import io.weir.router.RolloutConfig;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Ticker;
import io.weir.runtime.WeirException;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Drives each model's staged rollout on the injected {@link Ticker}: opens an evaluation window when a canary's stage
 * starts, closes a window every {@code window_s}, judges it with {@link Gates}, rolls the canary back on the first
 * failing gate, and otherwise leaves a stage once it lasted {@code min_duration_s}, saw {@code min_requests} (and at
 * least one) judged candidate requests (served by the canary or mirrored to it) and — when the golden gate is on — the
 * golden set passed. Passing the last stage promotes the canary. A rollout without stages is still guarded: its gates
 * roll it back, nothing advances. Pausing freezes advancement only; a failing gate still rolls back.
 *
 * <p>Low traffic: candidate requests are judged only in batches of at least {@code min_window_requests}. A window with
 * fewer neither counts them toward {@code min_requests} nor drops them: they carry into the next window (and into the
 * next stage of the same candidate) until enough have accumulated to be judged, so a window is then longer than
 * {@code window_s}.
 *
 * <p>State machine per model (what the store holds decides the state; the guard writes through the store):
 * <pre>
 *   no canary / rolled_back ──(new canary or status running)──▶ stage k: windows ──gate fails──▶ rolled_back
 *                                                               │ stage criteria met
 *                                                               ├── k &lt; last ──▶ stage k+1 (fresh windows)
 *                                                               └── k = last ──▶ promoted (no canary)
 * </pre>
 *
 * <p>Design: {@link #tick()} runs on one thread at a time (the facade's scheduler, or a test) under this object's
 * monitor, as does {@link #status}; golden checks complete on other threads into futures the tick only polls. The
 * store has other writers (admin operations, the file): a tick decides on a snapshot of the rollouts, so its edits are
 * compare-and-set ({@link RolloutStore#updateIf}) and apply only while the rollout is still what the decision was made
 * on; otherwise the tick writes nothing and the next one decides afresh.
 *
 * <p>Replicas sharing rollouts: the leader's guard publishes each stage's progress after every tick ({@link #progress},
 * an immutable snapshot behind a volatile field, read without this monitor because peers ask for it on event loops); a
 * follower's guard keeps the leader's latest ({@link #inherit}) and, when its replica leads, resumes a stage from it
 * (its start and judged requests) instead of from nothing, so that a change of leader does not restart a long stage.
 * The open window is not handed over: the new leader's first window starts afresh.
 */
public final class RolloutGuard {
    private static final Logger LOG = Logger.getLogger(RolloutGuard.class.getName());
    private static final String ACTOR = "guard";

    private final RolloutStore store;
    private final RolloutStats stats;
    private final ModelCatalog catalog;
    private final GoldenCheck golden;
    private final Ticker ticker;
    private final MeterRegistry meters;
    private final Map<String, State> states = new HashMap<>();
    private final Set<String> gauged = new HashSet<>();
    /** Each stage's progress as of the last tick (see the class note); empty while this guard decides nothing. */
    private volatile Map<String, Progress> published = Map.of();
    /** The leader's latest progress, kept by a follower's guard, taken once by the first tick that watches the stage. */
    private final Map<String, Progress> inherited = new HashMap<>();

    /** A stage's progress: which stage (the state key), since when (this guard's ticker), judged requests, windows. */
    private record Progress(String key, long stageStart, long stageRequests, int windows) {
    }

    private static final class State {
        final String key;
        final String canary;
        long stageStart;
        long windowStart;
        long stageRequests;
        /** What a resumed stage brought from the previous leader: this guard advances it only after judging more. */
        long resumedRequests;
        int windows;
        CompletableFuture<GoldenCheck.Verdict> golden;
        JsonObject lastWindow;

        State(String key, String canary, long now) {
            this.key = key;
            this.canary = canary;
            this.stageStart = now;
            this.windowStart = now;
        }
    }

    /** @param golden null when no golden check is available (a rollout requiring one then cannot advance) */
    public RolloutGuard(RolloutStore store, RolloutStats stats, ModelCatalog catalog, GoldenCheck golden, Ticker ticker,
                        MeterRegistry meters) {
        this.store = store;
        this.stats = stats;
        this.catalog = catalog;
        this.golden = golden;
        this.ticker = ticker;
        this.meters = meters;
    }

    /** Drops every model's stage progress and window (this replica stopped deciding its rollouts). */
    public synchronized void forget() {
        for (String model : Set.copyOf(states.keySet())) {
            states.remove(model);
            stats.stop(model);
        }
        published = Map.of();
    }

    /**
     * Each watched stage's progress as of the last tick, {@code {"<model>": {"stage_key", "stage_elapsed_s",
     * "stage_requests", "windows"}}}: what a follower keeps ({@link #inherit}). Lock-free.
     */
    public JsonObject progress() {
        long now = ticker.nanos();
        JsonObject out = new JsonObject();
        published.forEach((model, p) -> out.put(model, new JsonObject().put("stage_key", p.key())
                .put("stage_elapsed_s", (now - p.stageStart()) / 1e9).put("stage_requests", p.stageRequests())
                .put("windows", p.windows())));
        return out;
    }

    /**
     * Keeps the leader's {@link #progress} (replacing what was kept: call it with every leader state applied, an empty
     * object when that state carries none, so that nothing older than the last sync is ever resumed), so that this
     * guard, when its replica leads, resumes each stage where the leader was. Entries that do not parse are skipped:
     * they only cost a restart of that stage's clock.
     */
    public synchronized void inherit(JsonObject leaderProgress) {
        long now = ticker.nanos();
        inherited.clear();
        for (String model : leaderProgress.fieldNames()) {
            if (leaderProgress.getValue(model) instanceof JsonObject p && p.getValue("stage_key") instanceof String key
                    && p.getValue("stage_elapsed_s") instanceof Number elapsed && elapsed.doubleValue() >= 0
                    && p.getValue("stage_requests") instanceof Number requests && p.getValue("windows") instanceof Number windows) {
                inherited.put(model, new Progress(key, now - (long) (elapsed.doubleValue() * 1e9), requests.longValue(),
                        windows.intValue()));
            }
        }
    }

    public synchronized void tick() {
        long now = ticker.nanos();
        Map<String, RolloutConfig> all = store.all();
        for (String gone : Set.copyOf(states.keySet())) {
            if (!all.containsKey(gone)) {
                states.remove(gone);
                stats.stop(gone);
            }
        }
        all.forEach((model, cfg) -> {
            gauge(model);
            try {
                tick(model, cfg, now);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "rollout guard failed on " + model, e);
            }
        });
        inherited.clear(); // what the first tick of this leadership did not take was another stage's
        Map<String, Progress> snapshot = new HashMap<>();
        states.forEach((model, st) -> snapshot.put(model, new Progress(st.key, st.stageStart, st.stageRequests, st.windows)));
        published = Map.copyOf(snapshot);
    }

    private void tick(String model, RolloutConfig cfg, long now) {
        if (cfg.canary() == null || cfg.status() != RolloutConfig.Status.RUNNING) {
            if (states.remove(model) != null) {
                stats.stop(model);
            }
            return;
        }
        String key = cfg.primary() + "|" + cfg.canary() + "|" + cfg.stage() + "|" + cfg.shadow();
        State st = states.get(model);
        if (st == null || !st.key.equals(key)) {
            State next = new State(key, cfg.canary(), now);
            Progress before = st == null ? inherited.remove(model) : null;
            if (before != null && before.key().equals(key)) { // the previous leader's stage, resumed
                next.stageStart = before.stageStart();
                next.stageRequests = before.stageRequests();
                next.resumedRequests = before.stageRequests();
                next.windows = before.windows();
                LOG.info(() -> "resuming " + model + "'s stage from the previous leader: " + before.stageRequests()
                        + " candidate requests over " + Math.round((now - before.stageStart()) / 1e9) + " s");
            }
            if (st != null && st.canary.equals(cfg.canary())) {
                next.golden = st.golden; // same candidate, next stage: the verdict stands
            } else if (cfg.gates().golden() && golden != null) {
                next.golden = startGolden(model, cfg.canary());
            }
            states.put(model, next);
            stats.open(model, cfg.primary(), cfg.canary(), cfg.shadow());
            return;
        }
        if (st.golden == null && cfg.gates().golden() && golden != null) {
            st.golden = startGolden(model, cfg.canary()); // the gate was switched on mid-stage
        }
        GoldenCheck.Verdict verdict = cfg.gates().golden() && st.golden != null && st.golden.isDone()
                ? st.golden.join() : null;
        if (verdict != null && !verdict.passed()) {
            rollback(model, cfg, "golden set of " + cfg.canary() + " failed: " + verdict.reason());
            return;
        }
        long windowNanos = (long) (cfg.windowSeconds() * 1e9);
        if (now - st.windowStart < windowNanos) {
            return;
        }
        WindowStats.Snapshot w = stats.drain(model, cfg.gates().minWindowRequests());
        st.windowStart = now;
        st.windows++;
        double budget = catalog.config(new ModelKey(model, cfg.canary())).map(ModelConfig::latencyBudgetMs)
                .orElse(Double.NaN);
        List<String> failures = Gates.failures(cfg, w, budget);
        st.lastWindow = describe(w, failures);
        String stageName = cfg.hasStages() ? "stage '" + cfg.currentStage().name() + "'" : "the canary";
        if (!failures.isEmpty()) {
            rollback(model, cfg, "window " + st.windows + " of " + stageName + ": " + String.join("; ", failures));
            return;
        }
        st.stageRequests += judgedRequests(cfg, w);
        if (!cfg.hasStages() || cfg.paused()) {
            return;
        }
        RolloutConfig.Stage stage = cfg.currentStage();
        double lasted = (now - st.stageStart) / 1e9;
        boolean goldenOk = !cfg.gates().golden() || (verdict != null && verdict.passed());
        // at least one judged window even when min_requests is 0: a stage no gate ever looked at has not passed; and a
        // stage resumed from the previous leader needs one judged here (its last windows may have failed unpushed)
        if (lasted < stage.minDurationSeconds() || st.stageRequests < Math.max(stage.minRequests(), 1)
                || st.stageRequests <= st.resumedRequests || !goldenOk) {
            return;
        }
        String passed = String.format(java.util.Locale.ROOT, "stage '%s' passed: %d candidate requests over %.0f s, %d windows",
                stage.name(), st.stageRequests, lasted, st.windows);
        try {
            // only onto the very config this was decided on: after any change meanwhile (a rollback, a pause, a new
            // canary, other gates) it may not hold; the stage's progress stays, so the next window decides again
            if (cfg.stage() + 1 == cfg.stages().size()) {
                store.updateIf(model, cfg::equals, new RolloutStore.Change(ACTOR, "promote", passed + "; all stages passed"),
                        true, Transitions::promoted).ifPresentOrElse(
                        c -> Counter.builder("weir.rollout.promotions").tag("model", model).register(meters).increment(),
                        () -> LOG.info(() -> "not promoting " + model + ": its rollout changed while the guard decided"));
            } else {
                store.updateIf(model, cfg::equals, new RolloutStore.Change(ACTOR, "advance", passed + "; entering stage '"
                        + cfg.stages().get(cfg.stage() + 1).name() + "'"), true, Transitions::advanced).ifPresentOrElse(
                        next -> tick(model, next, now), // open the next stage's first window now, not at the next tick
                        () -> LOG.info(() -> "not advancing " + model + ": its rollout changed while the guard decided"));
            }
        } catch (WeirException e) {
            LOG.warning(() -> "cannot advance " + model + ": " + e.getMessage());
        }
    }

    /**
     * The candidate requests of a window that the gates judged: the canary's and, when the shadow runs the canary's
     * version, the shadow comparisons — each only with at least {@code min_window_requests} of them. Fewer were not
     * judged; they carried into the next window ({@link RolloutStats#drain}) and count once they are.
     */
    private static long judgedRequests(RolloutConfig cfg, WindowStats.Snapshot w) {
        long min = cfg.gates().minWindowRequests();
        long canary = w.canary().requests() >= min ? w.canary().requests() : 0;
        WindowStats.ShadowSnapshot s = w.shadow();
        long shadow = cfg.canary().equals(w.shadowVersion()) && s.comparisons() + s.failures() >= min ? s.comparisons() : 0;
        return canary + shadow;
    }

    /**
     * Rolls back the canary {@code cfg} was judged on, if it is still that canary of that primary and running: an
     * operator's rollback or new canary that landed since wins. Any other change (a stage, a pause) does not clear the
     * canary of what it was found to do, whose window is already drained.
     */
    private void rollback(String model, RolloutConfig cfg, String reason) {
        boolean done = store.updateIf(model, c -> c.status() == RolloutConfig.Status.RUNNING
                        && cfg.canary().equals(c.canary()) && cfg.primary().equals(c.primary()),
                new RolloutStore.Change(ACTOR, "rollback", reason), false, c -> Transitions.rolledBack(c, reason)).isPresent();
        if (!done) {
            LOG.info(() -> "not rolling back " + model + " (" + reason + "): its canary changed while the guard decided");
            return;
        }
        LOG.warning(() -> "rolled back the canary of " + model + ": " + reason);
        Counter.builder("weir.rollout.rollbacks").tag("model", model).register(meters).increment();
        states.remove(model);
        stats.stop(model);
    }

    private CompletableFuture<GoldenCheck.Verdict> startGolden(String model, String version) {
        try {
            return golden.check(model, version).toCompletableFuture()
                    .exceptionally(e -> GoldenCheck.Verdict.fail("golden check could not run: " + e.getMessage()));
        } catch (RuntimeException e) {
            return CompletableFuture.completedFuture(GoldenCheck.Verdict.fail("golden check could not run: " + e.getMessage()));
        }
    }

    private void gauge(String model) {
        if (gauged.add(model)) {
            Gauge.builder("weir.rollout.canary_weight", store, s -> s.get(model).map(RolloutConfig::canaryWeight).orElse(0.0))
                    .description("Percent of users on the canary").tag("model", model).register(meters);
        }
    }

    private static JsonObject describe(WindowStats.Snapshot w, List<String> failures) {
        return new JsonObject()
                .put("primary", arm(w.primary())).put("canary", arm(w.canary()))
                .put("shadow", new JsonObject().put("version", w.shadowVersion()).put("comparisons", w.shadow().comparisons())
                        .put("failures", w.shadow().failures()).put("mean_abs_diff", finite(w.shadow().meanAbsDiff()))
                        .put("label_agreement", finite(w.shadow().labelAgreement())))
                .put("psi", finite(WindowStats.psi(w.primary().scoreBins(), w.canary().scoreBins())))
                .put("failures", new JsonArray(List.copyOf(failures)));
    }

    private static JsonObject arm(WindowStats.ArmSnapshot a) {
        return new JsonObject().put("requests", a.requests()).put("errors", a.errors()).put("p95_ms", finite(a.p95Ms()));
    }

    private static Double finite(double d) {
        return Double.isFinite(d) ? d : null;
    }

    /** The guard's view of a model's rollout, for the admin API. */
    public synchronized JsonObject status(String model) {
        State st = states.get(model);
        if (st == null) {
            return new JsonObject().put("watching", false);
        }
        long now = ticker.nanos();
        JsonObject g = new JsonObject();
        RolloutConfig cfg = store.get(model).orElse(null);
        if (cfg == null || !cfg.gates().golden()) {
            g.put("state", "not_required");
        } else if (st.golden == null) {
            g.put("state", "unavailable").put("reason", "no golden check is configured; the rollout cannot advance");
        } else if (!st.golden.isDone()) {
            g.put("state", "pending");
        } else {
            GoldenCheck.Verdict v = st.golden.join();
            g.put("state", v.passed() ? "passed" : "failed").put("reason", v.reason());
        }
        return new JsonObject().put("watching", true).put("canary", st.canary)
                .put("stage", cfg != null && cfg.hasStages() ? cfg.currentStage().name() : null)
                .put("stage_elapsed_s", (now - st.stageStart) / 1e9).put("stage_requests", st.stageRequests)
                .put("windows", st.windows).put("window_elapsed_s", (now - st.windowStart) / 1e9)
                .put("golden", g).put("last_window", st.lastWindow);
    }
}
