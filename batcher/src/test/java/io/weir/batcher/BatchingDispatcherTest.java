package io.weir.batcher;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.weir.batcher.testing.AffineBackend;
import io.weir.batcher.testing.FakeTicker;
import io.weir.batcher.testing.TestModels;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Ticker;
import io.weir.runtime.WeirException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** The dispatcher end to end: real rings and batching threads, a real registry over a repository on disk. */
@ExtendWith(VertxExtension.class)
class BatchingDispatcherTest {
    private static final ModelKey KEY = new ModelKey("affine", "1.0.0");

    @TempDir
    Path dir;

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private ModelRegistry registry;
    private BatchingDispatcher dispatcher;

    private AffineBackend start(JsonObject config, Ticker ticker, FakeTicker backendClock, int cpuThreads,
                                BatchingOptions options) throws Exception {
        TestModels.write(dir, config, "1.0.0");
        AffineBackend cpu = new AffineBackend("cpu", backendClock);
        registry = TestModels.registry(dir, List.of(cpu));
        cpu.reset();
        dispatcher = new BatchingDispatcher(registry, ticker, cpuThreads, meters, options);
        return cpu;
    }

    @AfterEach
    void stop() {
        if (dispatcher != null) {
            dispatcher.close();
        }
        if (registry != null) {
            registry.close();
        }
    }

    private CompletableFuture<InferenceResult> submit(int id, int rows) {
        long now = dispatcher.ticker().nanos();
        return dispatcher.submit(TestModels.request(KEY, id, rows, now, Long.MAX_VALUE, Priority.NORMAL));
    }

    private static WeirException error(CompletableFuture<InferenceResult> f) throws Exception {
        Throwable t = f.handle((r, e) -> e).get(10, TimeUnit.SECONDS);
        assertThat(t).isInstanceOf(WeirException.class);
        return (WeirException) t;
    }

    @Test
    void answersCompleteOnTheCallersVertxContext(Vertx vertx, VertxTestContext test) throws Exception {
        start(TestModels.config("affine", 8, 1000, new JsonObject()), Ticker.system(), null, 2, BatchingOptions.defaults());
        Context context = vertx.getOrCreateContext();
        context.runOnContext(v -> VertxCompletion.on(context, submit(7, 3)).onComplete(test.succeeding(r -> test.verify(() -> {
            assertThat(Vertx.currentContext()).isSameAs(context);
            assertThat(r.outputs().get("y").floats()).containsExactly(TestModels.expected(7, 3));
            assertThat(dispatcher.policyOf(KEY)).contains("adaptive");
            test.completeNow();
        }))));
    }

    @Test
    void oversizedRequestsAreSplitAndStitchedInOrder() throws Exception {
        AffineBackend cpu = start(TestModels.config("affine", 4, 1000, new JsonObject().put("policy", "none")),
                Ticker.system(), null, 2, BatchingOptions.defaults());
        InferenceResult r = submit(3, 10).get(10, TimeUnit.SECONDS);
        assertThat(r.outputs().get("y").floats()).containsExactly(TestModels.expected(3, 10));
        assertThat(cpu.batches()).extracting(List::size).containsExactlyInAnyOrder(4, 4, 2);
    }

    @Test
    void oversizedRequestsAreRejectedWhenTheModelSaysSo() throws Exception {
        start(TestModels.config("affine", 4, 1000, new JsonObject()).put("oversize", "reject"), Ticker.system(), null, 2,
                BatchingOptions.defaults());
        assertThat(error(submit(1, 5)).code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
        assertThat(meters.get("weir.batcher.rejections").tag("reason", "oversize").counter().count()).isEqualTo(1);
    }

    @Test
    void unknownVersionsAndMalformedInputsAreRefusedWithoutQueueing() throws Exception {
        start(TestModels.config("affine", 4, 1000, new JsonObject()), Ticker.system(), null, 2, BatchingOptions.defaults());
        long now = dispatcher.ticker().nanos();
        var other = TestModels.request(new ModelKey("affine", "9.9.9"), 1, 1, now, Long.MAX_VALUE, Priority.NORMAL);
        assertThat(error(dispatcher.submit(other)).code()).isEqualTo(ErrorCode.UNAVAILABLE);
        var missing = new InferenceRequest(KEY, java.util.Map.of("x", io.weir.runtime.Tensor.ofFloats(new long[] {1, 1},
                new float[] {1})), 1, now, Long.MAX_VALUE, Priority.NORMAL);
        assertThat(error(dispatcher.submit(missing)).code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
    }

    @Test
    void aFullQueueIsRefusedAtOnceWithRetryAfter() throws Exception {
        AffineBackend cpu = start(TestModels.config("affine", 4, 60_000, new JsonObject().put("policy", "none")),
                Ticker.system(), null, 1, BatchingOptions.defaults().withRingSize(4));
        cpu.hold(1);
        List<CompletableFuture<InferenceResult>> admitted = new ArrayList<>();
        CompletableFuture<InferenceResult> refused = null;
        admitted.add(submit(0, 1));
        assertThat(cpu.awaitEntered(10)).isTrue();
        for (int i = 1; i < 100 && refused == null; i++) {
            CompletableFuture<InferenceResult> f = submit(i, 1);
            if (f.isCompletedExceptionally()) {
                refused = f;
            } else {
                admitted.add(f);
            }
        }
        assertThat(refused).as("refused synchronously").isNotNull();
        WeirException e = error(refused);
        assertThat(e.code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
        assertThat(e.retryAfterSeconds()).isGreaterThanOrEqualTo(1);
        // One computing, one ready for the worker, four in the queue.
        assertThat(admitted).hasSizeBetween(5, 6);
        cpu.release();
        for (int i = 0; i < admitted.size(); i++) {
            assertThat(admitted.get(i).get(10, TimeUnit.SECONDS).outputs().get("y").floats())
                    .containsExactly(TestModels.expected(i, 1));
        }
        assertThat(meters.get("weir.batcher.rejections").tag("reason", "ring_full").counter().count()).isEqualTo(1);
    }

    @Test
    void requestsThatCannotMakeTheirBudgetAreShedAtAdmission() throws Exception {
        FakeTicker clock = new FakeTicker();
        AffineBackend cpu = start(TestModels.config("affine", 4, 50, new JsonObject().put("policy", "none")),
                clock, clock, 1, BatchingOptions.defaults());
        cpu.latency(rows -> 20_000_000L);
        for (int i = 0; i < 4; i++) {
            submit(i, 1).get(10, TimeUnit.SECONDS);
        }
        cpu.hold(1);
        List<CompletableFuture<InferenceResult>> fs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            fs.add(submit(10 + i, 1));
        }
        List<CompletableFuture<InferenceResult>> shed = fs.stream().filter(CompletableFuture::isCompletedExceptionally).toList();
        assertThat(shed).as("20 ms per request, 50 ms budget: the third in line cannot make it").isNotEmpty();
        WeirException e = error(shed.getFirst());
        assertThat(e.code()).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
        assertThat(e.getMessage()).contains("predicted latency");
        assertThat(meters.get("weir.batcher.rejections").tag("reason", "predicted_wait").counter().count())
                .isEqualTo(shed.size());
        cpu.release();
        for (CompletableFuture<InferenceResult> f : fs) {
            f.handle((r, x) -> null).get(10, TimeUnit.SECONDS);
        }
    }

    @Test
    void afterASlowSpellAnIdleLaneAdmitsAgainAndRelearnsItsSpeed() throws Exception {
        FakeTicker clock = new FakeTicker();
        AffineBackend cpu = start(TestModels.config("affine", 4, 50, new JsonObject().put("policy", "none")),
                clock, clock, 1, BatchingOptions.defaults());
        // A slow spell: every batch takes 200 ms against a 50 ms budget, so the model learns 200 ms.
        cpu.latency(rows -> 200_000_000L);
        for (int i = 0; i < 6; i++) {
            submit(i, 1).handle((r, x) -> null).get(10, TimeUnit.SECONDS);
        }
        // The device is fast again. Nothing is queued or running, so requests are admitted (not shed on the stale
        // model), answered, and each observation pulls the prediction back under the budget.
        cpu.latency(rows -> 1_000_000L);
        for (int i = 0; i < 40; i++) {
            CompletableFuture<InferenceResult> f = submit(100 + i, 1);
            assertThat(f.get(10, TimeUnit.SECONDS).outputs().get("y").floats()).containsExactly(TestModels.expected(100 + i, 1));
        }
        var shed = meters.find("weir.batcher.rejections").tag("reason", "predicted_wait").counter();
        assertThat(shed == null ? 0.0 : shed.count()).as("nothing shed after the slow spell").isZero();
        // With work ahead again, shedding is judged on the relearned model: a request behind a running one is
        // admitted (under the stale 200 ms model it would have been shed).
        cpu.hold(1);
        List<CompletableFuture<InferenceResult>> fs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            fs.add(submit(200 + i, 1));
        }
        assertThat(fs).noneMatch(CompletableFuture::isCompletedExceptionally);
        cpu.release();
        for (int i = 0; i < fs.size(); i++) {
            assertThat(fs.get(i).get(10, TimeUnit.SECONDS).outputs().get("y").floats()).containsExactly(TestModels.expected(200 + i, 1));
        }
    }

    @Test
    void unloadingAVersionComputesWhatItAdmittedAndTearsTheLaneDown() throws Exception {
        AffineBackend cpu = start(TestModels.config("affine", 4, 60_000, new JsonObject().put("policy", "none")),
                Ticker.system(), null, 1, BatchingOptions.defaults());
        cpu.hold(1);
        List<CompletableFuture<InferenceResult>> fs = new ArrayList<>();
        fs.add(submit(0, 1));
        assertThat(cpu.awaitEntered(10)).isTrue();
        for (int i = 1; i < 8; i++) {
            fs.add(submit(i, 1));
        }
        // One computing, one handed to the worker, six waiting for a slot in the batcher's queue.
        registry.unload(KEY);
        assertThat(error(submit(99, 1)).code()).as("admitted after the unload").isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(dispatcher.policyOf(KEY)).isEmpty();
        assertThat(meters.find("weir.batcher.queued.rows").gauge()).isNull();
        cpu.release();
        for (int i = 0; i < fs.size(); i++) {
            assertThat(fs.get(i).get(10, TimeUnit.SECONDS).outputs().get("y").floats()).as("request %d", i)
                    .containsExactly(TestModels.expected(i, 1));
        }
        assertThat(cpu.batches()).as("'none' still runs each request alone").hasSize(8);
        assertThat(dispatcher.doubleAnswers()).isZero();
        assertThat(dispatcher.knowsComputeOf(KEY)).as("the batches that finished after the unload left no latency model behind")
                .isFalse();
    }

    @Test
    void requestsWaitingForABatchAtAnUnloadAreBatchedAtOnceOnTheUnloadedVersion() throws Exception {
        // A fixed delay of a minute and 5 rows under an 8-row cap: nothing would start before the unload but the unload.
        AffineBackend cpu = start(TestModels.config("affine", 8, 120_000,
                        new JsonObject().put("policy", "fixed").put("max_queue_delay_us", 60_000_000)),
                Ticker.system(), null, 1, BatchingOptions.defaults());
        List<CompletableFuture<InferenceResult>> fs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            fs.add(submit(i, 1));
        }
        var executable = registry.peek(KEY).orElseThrow();
        registry.unload(KEY);
        for (int i = 0; i < fs.size(); i++) {
            assertThat(fs.get(i).get(10, TimeUnit.SECONDS).outputs().get("y").floats()).as("request %d", i)
                    .containsExactly(TestModels.expected(i, 1));
        }
        assertThat(cpu.batches()).extracting(List::size).as("one batch, formed by the unload").containsExactly(5);
        assertThat(executable.inFlight()).as("the batches' leases given back").isZero();
        assertThat(meters.getMeters()).as("no series of the unloaded version left")
                .noneMatch(m -> "1.0.0".equals(m.getId().getTag("version")));
    }

    @Test
    void anUnloadBatchesWithThePolicyInForceThen() throws Exception {
        AffineBackend cpu = start(TestModels.config("affine", 8, 120_000,
                        new JsonObject().put("policy", "fixed").put("max_queue_delay_us", 60_000_000)),
                Ticker.system(), null, 1, BatchingOptions.defaults());
        List<CompletableFuture<InferenceResult>> fs = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            fs.add(submit(i, 1));
        }
        // Nothing wakes the batching thread between the override and the unload.
        dispatcher.overridePolicy("affine", new JsonObject().put("policy", "none"));
        registry.unload(KEY);
        for (CompletableFuture<InferenceResult> f : fs) {
            f.get(10, TimeUnit.SECONDS);
        }
        assertThat(cpu.batches()).extracting(List::size).as("'none': one request a batch").containsExactly(1, 1);
    }

    @RepeatedTest(25)
    void aVersionUnloadedRightAfterItsFirstRequestsAnswersThemAll() throws Exception {
        // The lane is built by the first request, and the unload may come before its batching thread ever ran.
        start(TestModels.config("affine", 8, 120_000,
                        new JsonObject().put("policy", "fixed").put("max_queue_delay_us", 60_000_000)),
                Ticker.system(), null, 1, BatchingOptions.defaults());
        List<CompletableFuture<InferenceResult>> fs = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            fs.add(submit(i, 1));
        }
        registry.unload(KEY);
        for (int i = 0; i < fs.size(); i++) {
            assertThat(fs.get(i).get(10, TimeUnit.SECONDS).outputs().get("y").floats()).as("request %d", i)
                    .containsExactly(TestModels.expected(i, 1));
        }
    }

    @Test
    void aGlobalOverrideReplacesEveryModelsPolicyAndMetricsAreRecorded() throws Exception {
        start(TestModels.config("affine", 8, 1000, new JsonObject().put("policy", "adaptive")), Ticker.system(), null, 2,
                BatchingOptions.defaults().withPolicyOverride(new JsonObject().put("policy", "fixed")
                        .put("max_queue_delay_us", 100)).withSnapshotInterval(java.time.Duration.ZERO));
        for (int i = 0; i < 20; i++) {
            submit(i, 2).get(10, TimeUnit.SECONDS);
        }
        assertThat(dispatcher.policyOf(KEY)).contains("fixed");
        assertThat(meters.get("weir.batcher.queue.wait").tags("model", "affine", "version", "1.0.0", "backend", "cpu")
                .timer().count()).isEqualTo(20);
        assertThat(meters.get("weir.batcher.batch.rows").tag("backend", "cpu").summary().totalAmount()).isEqualTo(40);
        assertThat(meters.get("weir.batcher.compute").timer().count()).isPositive();
        assertThat(dispatcher.latencySnapshots()).filteredOn(s -> s.stage() == LatencySnapshot.Stage.TOTAL)
                .singleElement().satisfies(s -> {
                    assertThat(s.count()).isEqualTo(20);
                    assertThat(s.p95Ms()).isGreaterThanOrEqualTo(s.p50Ms());
                });
        assertThat(dispatcher.doubleAnswers()).isZero();
    }

    @Test
    void latencySnapshotsGiveEachStagesPercentilesOverTheIntervalSinceTheLastRoll() throws Exception {
        FakeTicker clock = new FakeTicker();
        AffineBackend cpu = start(TestModels.config("affine", 4, 1000, new JsonObject().put("policy", "none")),
                clock, clock, 1, BatchingOptions.defaults());
        cpu.latency(rows -> 3_000_000L);
        long first = clock.nanos();
        for (int i = 0; i < 10; i++) {
            // Enqueued 7 ms before it reached the dispatcher (the caller stamps enqueue): waits count from there.
            long enqueued = clock.nanos() - 7_000_000L;
            dispatcher.submit(TestModels.request(KEY, i, 1, enqueued, Long.MAX_VALUE, Priority.NORMAL))
                    .get(10, TimeUnit.SECONDS);
        }
        clock.advance(first + 1_000_000_000L - clock.nanos());   // one second after the lane's first request
        List<LatencySnapshot> snapshots = dispatcher.latencySnapshots("affine");
        assertThat(snapshots).extracting(LatencySnapshot::stage).containsExactlyInAnyOrder(LatencySnapshot.Stage.values());
        for (LatencySnapshot s : snapshots) {
            assertThat(s.model()).isEqualTo(KEY);
            assertThat(s.backend()).isEqualTo("cpu");
            assertThat(s.windowMs()).as("the lane was made at its first request").isEqualTo(1000.0);
            assertThat(s.count()).as("ten requests of one row, each its own batch").isEqualTo(10);
            double expected = switch (s.stage()) {
                case QUEUE -> 7;
                case COMPUTE -> 3;
                case TOTAL -> 10;
            };
            // The recorders keep 2 significant digits: a percentile is the top of its bucket, under 1% above.
            var within = org.assertj.core.data.Offset.offset(expected * 0.01);
            assertThat(s.p50Ms()).as(s.stage().name()).isCloseTo(expected, within);
            assertThat(s.p95Ms()).as(s.stage().name()).isCloseTo(expected, within);
            assertThat(s.maxMs()).as(s.stage().name()).isCloseTo(expected, within);
        }
        assertThat(dispatcher.latencySnapshots("other")).as("another model's versions only").isEmpty();

        // Within the interval a reader gets the same roll; after it, the next interval, which saw nothing.
        clock.advanceMillis(500);
        assertThat(dispatcher.latencySnapshots("affine")).isEqualTo(snapshots);
        clock.advanceMillis(600);
        assertThat(dispatcher.latencySnapshots("affine")).allSatisfy(s -> {
            assertThat(s.windowMs()).isEqualTo(1100.0);
            assertThat(s.count()).isZero();
        });
    }

    @Test
    void aRunTimeOverrideSwitchesTheLoadedVersionAndABadOneChangesNothing() throws Exception {
        start(TestModels.config("affine", 8, 1000, new JsonObject().put("policy", "adaptive")), Ticker.system(), null, 2,
                BatchingOptions.defaults());
        submit(1, 2).get(10, TimeUnit.SECONDS);
        assertThat(dispatcher.policyOf(KEY)).contains("adaptive");

        var now = dispatcher.overridePolicy("affine", new JsonObject().put("policy", "fixed").put("max_queue_delay_us", 250));
        assertThat(now).containsExactly(java.util.Map.entry("1.0.0", "fixed(max_rows=8, delay_us=250, preferred=[])"));
        assertThat(dispatcher.policyOf(KEY)).contains("fixed");
        assertThat(dispatcher.policyOverride("affine")).hasValueSatisfying(o -> assertThat(o.getString("policy")).isEqualTo("fixed"));
        assertThat(submit(2, 3).get(10, TimeUnit.SECONDS).outputs().get("y").floats()).containsExactly(TestModels.expected(2, 3));

        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(WeirException.class,
                () -> dispatcher.overridePolicy("affine", new JsonObject().put("policy", "fixed").put("max_queue_delay_us", -1))))
                .satisfies(e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
                    assertThat(e.getMessage()).contains("max_queue_delay_us");
                });
        assertThat(dispatcher.policies("affine")).containsEntry("1.0.0", "fixed(max_rows=8, delay_us=250, preferred=[])");

        // A reload keeps the operator's choice; clearing it goes back to the config's own policy.
        registry.load(KEY);
        assertThat(dispatcher.policyOf(KEY)).contains("fixed");
        dispatcher.overridePolicy("affine", null);
        assertThat(dispatcher.policyOf(KEY)).contains("adaptive");
        assertThat(dispatcher.policyOverride("affine")).isEmpty();
        assertThat(submit(3, 1).get(10, TimeUnit.SECONDS).outputs().get("y").floats()).containsExactly(TestModels.expected(3, 1));
    }

    @Test
    void aVersionLoadedAfterAnOverrideBatchesWithIt() throws Exception {
        start(TestModels.config("affine", 8, 1000, new JsonObject().put("policy", "adaptive")), Ticker.system(), null, 2,
                BatchingOptions.defaults());
        registry.unload(KEY);
        assertThat(dispatcher.overridePolicy("affine", new JsonObject().put("policy", "none"))).isEmpty();
        registry.load(KEY);
        assertThat(dispatcher.policyOf(KEY)).contains("none");
        assertThat(submit(4, 2).get(10, TimeUnit.SECONDS).outputs().get("y").floats()).containsExactly(TestModels.expected(4, 2));
    }

    /** A device whose health report the test breaks: it throws on the batching threads while {@code broken}. */
    static final class BreakableHealth implements BackendHealth {
        volatile boolean broken = true;

        private void maybeThrow() {
            if (broken && Thread.currentThread().getName().startsWith("weir-batcher-")) {
                throw new IllegalStateException("injected: the device driver's status call failed");
            }
        }

        @Override
        public boolean healthy() {
            maybeThrow();
            return true;
        }

        @Override
        public long predictedLatencyNanos(ModelKey model, int rows) {
            maybeThrow();
            return 0;
        }

        @Override
        public int inFlight() {
            return 0;
        }
    }

    @Test
    void aHealthReportThatThrowsSendsTheBatchToTheCpuAndTheBatchingThreadGoesOn() throws Exception {
        TestModels.write(dir, TestModels.config("affine", 8, 1000, new JsonObject().put("policy", "none")), "1.0.0");
        AffineBackend gpu = new AffineBackend("gpu", null);
        AffineBackend cpu = new AffineBackend("cpu", null);
        registry = TestModels.registry(dir, List.of(gpu, cpu));
        BreakableHealth health = new BreakableHealth();
        dispatcher = new BatchingDispatcher(registry, Ticker.system(), 1, meters,
                BatchingOptions.defaults().withBackendHealth(java.util.Map.of("gpu", health)));

        InferenceResult first = submit(1, 2).get(10, TimeUnit.SECONDS);
        assertThat(first.outputs().get("y").floats()).containsExactly(TestModels.expected(1, 2));
        assertThat(first.backend()).isEqualTo("cpu");
        assertThat(first.fellBack()).isTrue();
        InferenceResult second = submit(2, 1).get(10, TimeUnit.SECONDS);
        assertThat(second.backend()).isEqualTo("cpu");

        health.broken = false;
        InferenceResult third = submit(3, 1).get(10, TimeUnit.SECONDS);
        assertThat(third.outputs().get("y").floats()).containsExactly(TestModels.expected(3, 1));
        assertThat(third.backend()).isEqualTo("gpu");
        assertThat(meters.get("weir.batcher.fallbacks").tag("reason", "unhealthy").counter().count()).isEqualTo(2);
        assertThat(dispatcher.doubleAnswers()).isZero();
    }

    @Test
    void aBatchingDecisionThatFailsAnswersWhatWaitedAndTheLaneGoesOn() throws Exception {
        java.util.concurrent.atomic.AtomicBoolean broken = new java.util.concurrent.atomic.AtomicBoolean();
        start(TestModels.config("affine", 8, 1000, new JsonObject().put("policy", "adaptive")), Ticker.system(), null, 1,
                BatchingOptions.defaults().withCpuLoad(() -> {
                    if (broken.get()) {
                        throw new IllegalStateException("injected: the CPU reading failed");
                    }
                    return 0;
                }));
        // Past the adaptive policy's warm-up, after which it reads the CPU load at every decision.
        for (int i = 0; i < 40; i++) {
            assertThat(submit(i, 1).get(10, TimeUnit.SECONDS).outputs().get("y").floats())
                    .containsExactly(TestModels.expected(i, 1));
        }
        broken.set(true);
        assertThat(error(submit(100, 1)).code()).isEqualTo(ErrorCode.INTERNAL);
        broken.set(false);
        assertThat(submit(101, 3).get(10, TimeUnit.SECONDS).outputs().get("y").floats())
                .containsExactly(TestModels.expected(101, 3));
        assertThat(dispatcher.doubleAnswers()).isZero();
    }

    @Test
    void noLaneIsBuiltForAVersionUnloadedAfterItWasLookedUpNorAfterClose() throws Exception {
        start(TestModels.config("affine", 8, 1000, new JsonObject()), Ticker.system(), null, 1, BatchingOptions.defaults());
        var peeked = registry.peek(KEY).orElseThrow();
        registry.unload(KEY);
        assertThat(dispatcher.policyOf(KEY)).isEmpty();
        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(WeirException.class, () -> dispatcher.lane(peeked))
                .code()).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(dispatcher.policyOf(KEY)).as("no lane left behind").isEmpty();

        registry.load(KEY);
        assertThat(dispatcher.policyOf(KEY)).isPresent();
        var loaded = registry.peek(KEY).orElseThrow();
        dispatcher.close();
        assertThat(org.assertj.core.api.Assertions.catchThrowableOfType(WeirException.class, () -> dispatcher.lane(loaded))
                .code()).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(dispatcher.policyOf(KEY)).isEmpty();
    }
}
