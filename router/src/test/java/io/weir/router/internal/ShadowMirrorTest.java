package io.weir.router.internal;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.Checkpoint;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.batcher.Priority;
import io.weir.router.FixedCatalog;
import io.weir.router.ManualTicker;
import io.weir.router.Route;
import io.weir.router.ScriptedDispatcher;
import io.weir.runtime.Tensor;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The shadow never touches the primary's answer or error rate, drops when full, and compares what it can. */
@ExtendWith(VertxExtension.class)
class ShadowMirrorTest {
    private static final String MODEL = "moderation";

    private final ManualTicker ticker = new ManualTicker();
    private final FixedCatalog catalog = new FixedCatalog().load(MODEL, "1.0.0", "2.0.0");
    private final ScriptedDispatcher dispatcher = new ScriptedDispatcher(ticker).offset("2.0.0", 1.0f);
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final RolloutStats stats = new RolloutStats(meters);
    private final DiffLog diffs = new DiffLog(null, 1_000, 1.0);
    private final RolloutStore store = new RolloutStore(catalog, new AuditLog(null, Clock.systemUTC(), 10), null);
    private ShadowMirror mirror;
    private DefaultRouter router;

    private void start(int capacity, int workers) {
        mirror = new ShadowMirror(dispatcher, catalog, stats, diffs, meters, Clock.systemUTC(), capacity, workers,
                Duration.ofSeconds(30));
        router = new DefaultRouter(store, catalog, stats, mirror);
        store.put(MODEL, new JsonObject().put("primary", "1.0.0").put("shadow", "2.0.0").put("shadow_sample_rate", 1.0),
                new RolloutStore.Change("test", "put", null));
        stats.open(MODEL, "1.0.0", null, "2.0.0");
        mirror.start();
    }

    @AfterEach
    void tearDown() {
        dispatcher.release("2.0.0");
        mirror.close();
    }

    private static float[] features(int i) {
        return new float[] {(i % 7) - 3f, (i % 3) * 0.5f, -0.25f * (i % 5), 0.1f};
    }

    /** What the gateway does for one request: route, serve on the primary, record, answer, then mirror. */
    private float serve(int i) {
        Route r = router.route(MODEL, "user-" + i, "req-" + i, null);
        assertThat(r.mirrored()).isTrue();
        long now = ticker.nanos();
        InferenceRequest req = new InferenceRequest(r.key(), Map.of("features", Tensor.ofFloats(new long[] {1, 4}, features(i))),
                1, now, now + 1_000_000_000L, Priority.NORMAL);
        InferenceResult res;
        try {
            res = dispatcher.submit(req).join();
        } catch (CompletionException e) {
            router.recordFailure(r, 1_000_000, e);
            throw e;
        }
        router.recordSuccess(r, 1_000_000, res);
        router.mirror(r, req, res);
        return res.outputs().get("score").floats()[0];
    }

    private double primaryCount(String outcome) {
        var c = meters.find("weir.router.requests").tags("arm", "primary", "outcome", outcome).counter();
        return c == null ? 0 : c.count();
    }

    private double shadowCount(String outcome) {
        var c = meters.find("weir.shadow.requests").tags("arm", "shadow", "outcome", outcome).counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void eachShadowAnswerIsComparedWithThePrimarysAndAggregated(VertxTestContext ctx) throws InterruptedException {
        start(64, 2);
        Checkpoint done = ctx.checkpoint(20);
        mirror.onOutcome(o -> done.flag());
        double expectedDiff = 0;
        int expectedAgree = 0;
        for (int i = 0; i < 20; i++) {
            float p = serve(i);
            float s = dispatcher.score("2.0.0", features(i));
            expectedDiff += Math.abs(s - p);
            expectedAgree += (p >= 0.5) == (s >= 0.5) ? 1 : 0;
        }
        assertThat(ctx.awaitCompletion(10, TimeUnit.SECONDS)).isTrue();
        assertThat(mirror.compared()).isEqualTo(20);
        WindowStats.ShadowSnapshot w = stats.drain(MODEL, 0).shadow();
        assertThat(w.comparisons()).isEqualTo(20);
        assertThat(w.meanAbsDiff()).isCloseTo(expectedDiff / 20, within(1e-6));
        assertThat(w.labelAgreements()).isEqualTo(expectedAgree);
        assertThat(expectedAgree).as("the offset flips some labels").isLessThan(20);
        assertThat(shadowCount("compared")).isEqualTo(20);
        JsonArray diff = diffs.recent(MODEL, "req-7", 10);
        assertThat(diff).hasSize(1);
        JsonObject d = diff.getJsonObject(0);
        assertThat(d.getString("primary_version")).isEqualTo("1.0.0");
        assertThat(d.getString("shadow_version")).isEqualTo("2.0.0");
        assertThat(d.getJsonArray("shadow_scores").getFloat(0)).isEqualTo(dispatcher.score("2.0.0", features(7)));
    }

    @Test
    void aSlowShadowDropsWhenFullAndNeverDelaysOrChangesThePrimary(VertxTestContext ctx) throws InterruptedException {
        start(4, 1);
        dispatcher.hold("2.0.0");
        List<Float> served = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            served.add(serve(i)); // returns although every shadow answer is held
        }
        for (int i = 0; i < 50; i++) {
            assertThat(served.get(i)).isEqualTo(dispatcher.score("1.0.0", features(i)));
        }
        assertThat(primaryCount("ok")).isEqualTo(50);
        assertThat(primaryCount("internal")).isZero();
        assertThat(mirror.submitted()).isEqualTo(50);
        assertThat(mirror.dropped()).as("4 queued and at most 1 in flight").isGreaterThanOrEqualTo(45);
        assertThat(shadowCount("dropped")).isEqualTo(mirror.dropped());

        Checkpoint done = ctx.checkpoint((int) (50 - mirror.dropped()));
        mirror.onOutcome(o -> done.flag());
        dispatcher.release("2.0.0");
        assertThat(ctx.awaitCompletion(10, TimeUnit.SECONDS)).isTrue();
        assertThat(mirror.compared() + mirror.failed() + mirror.dropped()).isEqualTo(50);
        assertThat(mirror.failed()).isZero();
    }

    @Test
    void aFailingShadowIsCountedAndLeavesThePrimarysErrorRateAlone(VertxTestContext ctx) throws InterruptedException {
        start(64, 2);
        dispatcher.failing("2.0.0", true);
        Checkpoint done = ctx.checkpoint(30);
        mirror.onOutcome(o -> done.flag());
        for (int i = 0; i < 30; i++) {
            assertThat(serve(i)).isEqualTo(dispatcher.score("1.0.0", features(i)));
        }
        assertThat(ctx.awaitCompletion(10, TimeUnit.SECONDS)).isTrue();
        assertThat(mirror.failed()).isEqualTo(30);
        assertThat(shadowCount("internal")).isEqualTo(30);
        assertThat(primaryCount("ok")).isEqualTo(30);
        assertThat(meters.find("weir.router.requests").tags("arm", "primary").counters())
                .filteredOn(c -> !"ok".equals(c.getId().getTag("outcome"))).allSatisfy(c -> assertThat(c.count()).isZero());
        WindowStats.Snapshot w = stats.drain(MODEL, 0);
        assertThat(w.primary().requests()).isEqualTo(30);
        assertThat(w.primary().errors()).isZero();
        assertThat(w.shadow().failures()).isEqualTo(30);
    }

    @Test
    void aNonFiniteShadowScoreIsAFailureNotAComparison(VertxTestContext ctx) throws InterruptedException {
        start(64, 2);
        dispatcher.offset("2.0.0", Float.NaN);
        Checkpoint done = ctx.checkpoint(30);
        mirror.onOutcome(o -> done.flag());
        for (int i = 0; i < 30; i++) {
            serve(i);
        }
        assertThat(ctx.awaitCompletion(10, TimeUnit.SECONDS)).isTrue();
        assertThat(mirror.failed()).isEqualTo(30);
        assertThat(shadowCount("internal")).isEqualTo(30);
        WindowStats.ShadowSnapshot w = stats.drain(MODEL, 0).shadow();
        assertThat(w.failures()).isEqualTo(30);
        assertThat(w.comparisons()).isZero();
        assertThat(w.absDiffSum()).as("nothing non-finite reaches the window's sum").isZero();
        assertThat(diffs.recent(MODEL, "req-3", 10).getJsonObject(0).getString("message")).contains("NaN");
    }

    @Test
    void workSubmittedAfterCloseIsDroppedNotLost() {
        start(8, 1);
        mirror.close();
        serve(1);
        assertThat(mirror.dropped()).isEqualTo(1);
        assertThat(dispatcher.calls("2.0.0")).isZero();
    }
}
