package io.weir.router.internal;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.InferenceResult;
import io.weir.router.Arm;
import io.weir.router.FixedCatalog;
import io.weir.router.GoldenCheck;
import io.weir.router.ManualTicker;
import io.weir.router.ModelCatalog;
import io.weir.router.RolloutConfig;
import io.weir.router.Route;
import io.weir.router.ScriptedDispatcher;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;
import io.weir.runtime.WeirException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;

/** The staged rollout on an injected clock: every window passes by moving the ticker, never by sleeping. */
class RolloutGuardTest {
    private static final String MODEL = "moderation";
    private static final Duration WINDOW = Duration.ofSeconds(60);

    private final ManualTicker ticker = new ManualTicker();
    private final FixedCatalog catalog = new FixedCatalog().load(MODEL, "1.0.0", "1.1.0");
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final AuditLog audit = new AuditLog(null, Clock.systemUTC(), 1_000);
    private final RolloutStore store = new RolloutStore(catalog, audit, null);
    private final RolloutStats stats = new RolloutStats(meters);
    private final ShadowMirror shadow = new ShadowMirror(new ScriptedDispatcher(ticker), catalog, stats,
            new DiffLog(null, 10, 0), meters, Clock.systemUTC(), 1, 1, Duration.ofSeconds(1));
    private final DefaultRouter router = new DefaultRouter(store, catalog, stats, shadow);
    private CompletableFuture<GoldenCheck.Verdict> goldenVerdict = new CompletableFuture<>();
    private final RolloutGuard guard = new RolloutGuard(store, stats, catalog, (m, v) -> goldenVerdict, ticker, meters);
    private int seq;

    @AfterEach
    void tearDown() {
        shadow.close();
    }

    /** What the canary does differently in a window of traffic. */
    private record Canary(int failOneIn, long latencyMs, float scoreShift, double shadowDisagreement) {
        static final Canary HEALTHY = new Canary(0, 10, 0, 0);
    }

    private static JsonObject rollout(double weight) {
        return new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", weight)
                .put("window_s", WINDOW.toSeconds());
    }

    private static JsonObject stage(String name, Object weight, int minRequests) {
        return new JsonObject().put("name", name).put("canary_weight", weight).put("min_duration_s", 120)
                .put("min_requests", minRequests);
    }

    private static InferenceResult result(float score) {
        return new InferenceResult(Map.of("score", Tensor.ofFloats(new long[] {1, 1}, new float[] {score})), "cpu", 0, 0, 1, false);
    }

    /** One window's requests from users 0..users-1, recorded as the gateway would, then the window's end. */
    private BitSet window(int users, Canary canary) {
        BitSet onCanary = serve(users, canary);
        ticker.advance(WINDOW);
        guard.tick();
        return onCanary;
    }

    /** Requests from users 0..users-1, recorded as the gateway would; returns the users the canary served. */
    private BitSet serve(int users, Canary canary) {
        BitSet onCanary = new BitSet(users);
        for (int u = 0; u < users; u++) {
            int n = seq++;
            Route r = router.route(MODEL, "user-" + u, "req-" + n, null);
            float score = (n * 37 % 100) / 100f;
            if (r.arm() == Arm.CANARY) {
                onCanary.set(u);
                if (canary.failOneIn() > 0 && n % canary.failOneIn() == 0) {
                    router.recordFailure(r, 1_000_000, new WeirException(ErrorCode.INTERNAL, "boom"));
                } else {
                    router.recordSuccess(r, canary.latencyMs() * 1_000_000, result(Math.min(1f, score + canary.scoreShift())));
                }
            } else {
                router.recordSuccess(r, 10_000_000, result(score));
                if (r.mirrored()) {
                    boolean agree = (n % 100) >= canary.shadowDisagreement() * 100;
                    stats.recordShadow(MODEL, r.shadowVersion(), 1, 0.001, 1, agree ? 1 : 0);
                }
            }
        }
        return onCanary;
    }

    private RolloutConfig current() {
        return store.get(MODEL).orElseThrow();
    }

    private void start(JsonObject config) {
        store.put(MODEL, config, new RolloutStore.Change("alice", "put", "start"));
        guard.tick(); // opens the first window
    }

    private JsonObject lastGuardRecord() {
        JsonArray a = audit.recent(MODEL, 1);
        return a.getJsonObject(0);
    }

    @Test
    void aCanaryWithInjectedErrorsIsRolledBackWithinTwoWindows() {
        start(rollout(50));
        int windows = 0;
        while (current().status() == RolloutConfig.Status.RUNNING && windows < 2) {
            window(1_000, new Canary(10, 10, 0, 0));
            windows++;
        }
        RolloutConfig c = current();
        assertThat(c.status()).isEqualTo(RolloutConfig.Status.ROLLED_BACK);
        assertThat(c.canaryWeight()).isZero();
        assertThat(c.statusReason()).contains("canary error rate");
        JsonObject rec = lastGuardRecord();
        assertThat(rec.getString("actor")).isEqualTo("guard");
        assertThat(rec.getString("action")).isEqualTo("rollback");
        assertThat(rec.getJsonObject("previous").getDouble("canary_weight")).isEqualTo(50.0);
        assertThat(router.route(MODEL, "user-1", "r", null).arm()).isEqualTo(Arm.PRIMARY);
        assertThat(meters.counter("weir.rollout.rollbacks", "model", MODEL).count()).isEqualTo(1);
        assertThat(meters.counter("weir.router.requests", "model", MODEL, "arm", "canary", "version", "1.1.0",
                "outcome", "internal").count()).isPositive();
    }

    @Test
    void aHealthyCanaryWithoutStagesKeepsRunning() {
        start(rollout(50));
        for (int i = 0; i < 5; i++) {
            window(1_000, Canary.HEALTHY);
        }
        assertThat(current().status()).isEqualTo(RolloutConfig.Status.RUNNING);
        assertThat(current().canaryWeight()).isEqualTo(50);
        assertThat(guard.status(MODEL).getInteger("windows")).isEqualTo(5);
    }

    @Test
    void allStagesPassedPromotesAndNoUserEverMovesBackToThePrimary() {
        start(rollout(0).put("shadow_sample_rate", 0.5).put("stages", new JsonArray()
                .add(stage("shadow", "shadow", 100)).add(stage("5%", 5, 50)).add(stage("25%", 25, 100))
                .add(stage("50%", 50, 100)).add(stage("100%", 100, 100))));
        assertThat(current().shadow()).isEqualTo("1.1.0");
        List<String> stagesSeen = new ArrayList<>();
        BitSet before = new BitSet();
        for (int w = 0; w < 30 && current().canary() != null; w++) {
            String stageName = current().currentStage().name();
            if (stagesSeen.isEmpty() || !stagesSeen.getLast().equals(stageName)) {
                stagesSeen.add(stageName);
            }
            BitSet now = window(4_000, Canary.HEALTHY);
            BitSet lost = (BitSet) before.clone();
            lost.andNot(now);
            assertThat(lost.cardinality()).as("users moved back to the primary in stage %s", stageName).isZero();
            before = now;
        }
        assertThat(stagesSeen).containsExactly("shadow", "5%", "25%", "50%", "100%");
        RolloutConfig c = current();
        assertThat(c.primary()).isEqualTo("1.1.0");
        assertThat(c.canary()).isNull();
        assertThat(c.shadow()).isNull();
        List<String> guardActions = audit.recent(MODEL, 100).stream().map(o -> (JsonObject) o)
                .filter(r -> "guard".equals(r.getString("actor"))).map(r -> r.getString("action")).toList();
        assertThat(guardActions).containsExactly("advance", "advance", "advance", "advance", "promote");
        assertThat(lastGuardRecord().getString("why")).contains("all stages passed");
    }

    @Test
    void aStageLastsItsMinimumDurationAndRequests() {
        start(rollout(0).put("stages", new JsonArray().add(stage("5%", 5, 1_000_000)).add(stage("100%", 100, 0))));
        for (int i = 0; i < 4; i++) {
            window(4_000, Canary.HEALTHY);
        }
        assertThat(current().currentStage().name()).as("min_requests not reached").isEqualTo("5%");
        assertThat(guard.status(MODEL).getLong("stage_requests")).isBetween(600L, 1_000L);
    }

    /**
     * 40 users a window at 50% and then 100%: fewer canary requests a window than min_window_requests (50). The PSI
     * gate stays on with its defaults: it waits for enough scored rows (Gates.psiMinRows) instead of reading noise.
     */
    private static JsonObject lowTraffic(int minRequests) {
        return rollout(0).put("stages", new JsonArray().add(stage("50%", 50, minRequests)).add(stage("100%", 100, minRequests)));
    }

    private List<String> guardActions() {
        return audit.recent(MODEL, 100).stream().map(o -> (JsonObject) o)
                .filter(r -> "guard".equals(r.getString("actor"))).map(r -> r.getString("action")).toList();
    }

    /** With min_requests 0 a stage still needs one judged window. */
    @ParameterizedTest(name = "min_requests {0}")
    @ValueSource(ints = {30, 0})
    void aFailingCanaryUnderLowTrafficIsJudgedOnceEnoughRequestsAccumulateAndNeverAdvances(int minRequests) {
        start(lowTraffic(minRequests));
        for (int w = 0; w < 10 && current().status() == RolloutConfig.Status.RUNNING; w++) {
            window(40, new Canary(1, 10, 0, 0));
        }
        assertThat(current().status()).isEqualTo(RolloutConfig.Status.ROLLED_BACK);
        assertThat(current().primary()).isEqualTo("1.0.0");
        assertThat(current().statusReason()).contains("canary error rate 100.00%");
        assertThat(guardActions()).containsExactly("rollback");
    }

    @Test
    void aHealthyCanaryUnderLowTrafficStillAdvancesOnJudgedRequests() {
        start(lowTraffic(30));
        for (int w = 0; w < 12 && current().canary() != null; w++) {
            window(40, Canary.HEALTHY);
            if (current().canary() != null && current().currentStage().name().equals("50%")) {
                assertThat(guard.status(MODEL).getLong("stage_requests")).as("only judged requests count")
                        .satisfiesAnyOf(n -> assertThat(n).isZero(), n -> assertThat(n).isGreaterThanOrEqualTo(50));
            }
        }
        assertThat(current().primary()).isEqualTo("1.1.0");
        assertThat(guardActions()).containsExactly("advance", "promote");
    }

    /** A guard whose catalog lookup in the middle of its tick (the canary's latency budget) first runs {@code admin}. */
    private RolloutGuard guardRacing(AtomicBoolean armed, Runnable admin) {
        ModelCatalog hooked = new ModelCatalog() {
            @Override
            public List<String> readyVersions(String model) {
                return catalog.readyVersions(model);
            }

            @Override
            public Optional<ModelConfig> config(ModelKey key) {
                if (armed.getAndSet(false)) {
                    admin.run();
                }
                return catalog.config(key);
            }
        };
        return new RolloutGuard(store, stats, hooked, null, ticker, meters);
    }

    @Test
    void anAdminRollbackDuringTheGuardsTickIsNotOverwrittenByItsPromotion() {
        AtomicBoolean armed = new AtomicBoolean();
        RolloutGuard racing = guardRacing(armed, () -> store.update(MODEL, new RolloutStore.Change("bob", "rollback",
                "p95 regression"), false, c -> Transitions.rolledBack(c, "p95 regression")));
        store.put(MODEL, rollout(0).put("stages", new JsonArray().add(stage("100%", 100, 100))),
                new RolloutStore.Change("alice", "put", "start"));
        racing.tick();
        serve(1_000, Canary.HEALTHY);
        ticker.advance(WINDOW);
        racing.tick();
        assertThat(current().canary()).as("60 s of the stage's 120").isEqualTo("1.1.0");
        serve(1_000, Canary.HEALTHY);
        ticker.advance(WINDOW);
        armed.set(true);
        racing.tick(); // decides to promote; bob's rollback lands before the guard writes
        assertThat(armed).as("the admin rollback ran mid-tick").isFalse();
        assertThat(current().primary()).isEqualTo("1.0.0");
        assertThat(current().status()).isEqualTo(RolloutConfig.Status.ROLLED_BACK);
        assertThat(current().statusReason()).isEqualTo("p95 regression");
        assertThat(guardActions()).isEmpty();
        assertThat(meters.find("weir.rollout.promotions").counter()).isNull();
    }

    @Test
    void aNewCanaryPutDuringTheGuardsTickIsNotRolledBackForTheOldOnesFailures() {
        catalog.load(MODEL, "2.0.0");
        AtomicBoolean armed = new AtomicBoolean();
        RolloutGuard racing = guardRacing(armed, () -> store.put(MODEL, current().toJson().put("canary", "2.0.0"),
                new RolloutStore.Change("bob", "put", "next candidate")));
        store.put(MODEL, rollout(50), new RolloutStore.Change("alice", "put", "start"));
        racing.tick();
        serve(1_000, new Canary(10, 10, 0, 0));
        ticker.advance(WINDOW);
        armed.set(true);
        racing.tick(); // 1.1.0 fails its error rate; bob's new canary lands before the guard writes
        assertThat(armed).as("the admin put ran mid-tick").isFalse();
        assertThat(current().canary()).isEqualTo("2.0.0");
        assertThat(current().status()).isEqualTo(RolloutConfig.Status.RUNNING);
        assertThat(current().canaryWeight()).isEqualTo(50);
        assertThat(guardActions()).isEmpty();
    }

    @Test
    void aSlowCanaryIsRolledBackOnItsP95() {
        start(rollout(50));
        window(1_000, new Canary(0, 200, 0, 0));
        assertThat(current().status()).isEqualTo(RolloutConfig.Status.ROLLED_BACK);
        assertThat(current().statusReason()).contains("canary p95 ").contains("50.0 ms budget").contains("primary's");
    }

    @Test
    void aCanaryWhoseScoresDriftIsRolledBackOnPsi() {
        start(rollout(50).put("gates", new JsonObject().put("max_psi", 0.1)));
        window(2_000, new Canary(0, 10, 0.5f, 0));
        assertThat(current().status()).isEqualTo(RolloutConfig.Status.ROLLED_BACK);
        assertThat(current().statusReason()).contains("PSI");
    }

    @Test
    void aShadowStageThatDisagreesWithThePrimaryIsRolledBack() {
        start(rollout(0).put("shadow_sample_rate", 1.0).put("stages", new JsonArray().add(stage("shadow", "shadow", 10))
                .add(stage("100%", 100, 10))));
        window(500, new Canary(0, 10, 0, 0.2));
        assertThat(current().status()).isEqualTo(RolloutConfig.Status.ROLLED_BACK);
        assertThat(current().statusReason()).contains("shadow label agreement 80.00%");
        assertThat(current().shadow()).isNull();
    }

    @Test
    void theGoldenGateHoldsAStageUntilItPassesAndAFailureRollsBack() {
        start(rollout(0).put("stages", new JsonArray().add(stage("5%", 5, 0)).add(stage("100%", 100, 0)))
                .put("gates", new JsonObject().put("golden", true)));
        for (int i = 0; i < 4; i++) {
            window(4_000, Canary.HEALTHY);
        }
        assertThat(current().currentStage().name()).as("verdict pending").isEqualTo("5%");
        assertThat(guard.status(MODEL).getJsonObject("golden").getString("state")).isEqualTo("pending");
        goldenVerdict.complete(GoldenCheck.Verdict.pass("12 cases"));
        window(4_000, Canary.HEALTHY);
        assertThat(current().currentStage().name()).isEqualTo("100%");

        goldenVerdict = new CompletableFuture<>();
        catalog.load(MODEL, "2.0.0");
        store.put(MODEL, current().toJson().put("canary", "2.0.0"), new RolloutStore.Change("alice", "put", "next"));
        guard.tick();
        goldenVerdict.complete(GoldenCheck.Verdict.fail("AUC 0.61 below min_auc 0.80"));
        guard.tick();
        assertThat(current().status()).isEqualTo(RolloutConfig.Status.ROLLED_BACK);
        assertThat(current().statusReason()).contains("golden set of 2.0.0 failed: AUC 0.61");
    }

    @Test
    void pausingFreezesStagesButAFailingGateStillRollsBack() {
        start(rollout(0).put("paused", true).put("stages", new JsonArray().add(stage("5%", 5, 0)).add(stage("50%", 50, 0))));
        for (int i = 0; i < 4; i++) {
            window(4_000, Canary.HEALTHY);
        }
        assertThat(current().currentStage().name()).isEqualTo("5%");
        store.update(MODEL, new RolloutStore.Change("alice", "resume", null), true, c -> Transitions.paused(c, false));
        window(4_000, Canary.HEALTHY);
        assertThat(current().currentStage().name()).isEqualTo("50%");
        store.update(MODEL, new RolloutStore.Change("alice", "pause", null), true, c -> Transitions.paused(c, true));
        window(4_000, Canary.HEALTHY);
        window(4_000, new Canary(5, 10, 0, 0));
        assertThat(current().status()).isEqualTo(RolloutConfig.Status.ROLLED_BACK);
    }
}
