package io.weir.batcher;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.testing.AffineBackend;
import io.weir.batcher.testing.TestModels;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Ticker;
import io.weir.runtime.WeirException;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Everything that can go wrong at once, on real threads: producers publish from several threads (some requests split
 * past the row cap, a third high priority, one in ten with a deadline of a few milliseconds), while a device backend
 * fails one call in eight (each failed batch must be rerun on the CPU), both backends take a real, random time, an
 * operator switches the model's batching policy every millisecond or two, and the version is unloaded and loaded
 * again twice mid-run (its lane closed with requests inside, a new lane built).
 *
 * <p>What must hold, whatever the interleaving: every request gets exactly one answer, within seconds; a success
 * carries its own request's values (each row's offset is its request's id, so a row routed to another request
 * shows); a failure is one of those the chaos explains — RESOURCE_EXHAUSTED (refused at admission), DEADLINE_EXCEEDED
 * (only for a short-deadline request), UNAVAILABLE (only when an unload began between the request's submission and
 * its answer) — never a device failure leaking out; and no row is computed by two successful backend calls (a
 * failed device call records nothing, so its rerun on the CPU is the row's one computation).
 */
class BatchingChaosStressTest {
    private static final int PRODUCERS = 6;
    private static final int PER_PRODUCER = 1200;
    private static final int MAX_ROWS = 16;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    void everyRequestIsAnsweredOnceWithItsOwnValuesWhileTheDeviceFailsAndThePolicyAndVersionChange(long seed)
            throws Exception {
        ModelKey key = new ModelKey("affine", "1.0.0");
        TestModels.write(dir, TestModels.config("affine", MAX_ROWS, 30_000, new JsonObject().put("policy", "adaptive")),
                "1.0.0");
        AffineBackend gpu = new AffineBackend("gpu", null);
        AffineBackend cpu = new AffineBackend("cpu", null);
        ModelRegistry registry = TestModels.registry(dir, List.of(gpu, cpu));
        // Failures only once loaded: a failed warm-up would leave the version on the CPU alone.
        gpu.failWithChance(0.125);
        gpu.sleepUpTo(100);
        cpu.sleepUpTo(50);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        List<JsonObject> policies = List.of(
                new JsonObject().put("policy", "adaptive"),
                new JsonObject().put("policy", "fixed").put("max_queue_delay_us", 300),
                new JsonObject().put("policy", "fixed").put("max_queue_delay_us", 1000)
                        .put("preferred_batch_rows", new JsonArray().add(4).add(8)),
                new JsonObject().put("policy", "none"));
        int total = PRODUCERS * PER_PRODUCER;
        int[] rows = new int[total + 1];
        boolean[] shortDeadline = new boolean[total + 1];
        Random random = new Random(seed);
        for (int id = 1; id <= total; id++) {
            rows[id] = random.nextInt(20) == 0 ? MAX_ROWS + 1 + random.nextInt(30) : 1 + random.nextInt(6);
            shortDeadline[id] = random.nextInt(10) == 0;
        }
        List<CompletableFuture<InferenceResult>> futures = new ArrayList<>(total + 1);
        for (int id = 0; id <= total; id++) {
            futures.add(null);
        }
        // An UNAVAILABLE is explained when an unload started after the last load that finished before the request
        // was submitted, and before it was answered.
        AtomicInteger unloadsStarted = new AtomicInteger();
        AtomicInteger loadsFinished = new AtomicInteger();
        int[] loadsAtSubmit = new int[total + 1];
        int[] unloadsAtAnswer = new int[total + 1];
        try (BatchingDispatcher dispatcher = new BatchingDispatcher(registry, Ticker.system(), 2, meters,
                BatchingOptions.defaults().withRingSize(1024).withDeviceWorkers(2))) {
            CountDownLatch go = new CountDownLatch(1);
            AtomicInteger producersLeft = new AtomicInteger(PRODUCERS);
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < PRODUCERS; p++) {
                int first = 1 + p * PER_PRODUCER;
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                        for (int id = first; id < first + PER_PRODUCER; id++) {
                            long now = dispatcher.ticker().nanos();
                            long deadline = shortDeadline[id] ? now + 2_000_000 : Long.MAX_VALUE;
                            Priority priority = id % 3 == 0 ? Priority.HIGH : Priority.NORMAL;
                            loadsAtSubmit[id] = loadsFinished.get();
                            int request = id;
                            futures.set(id, dispatcher.submit(TestModels.request(key, id, rows[id], now, deadline, priority))
                                    .whenComplete((r, e) -> unloadsAtAnswer[request] = unloadsStarted.get()));
                            if (id % 2 == 0) {
                                Thread.sleep(1); // about 10k requests/s in all: a queue that mostly keeps up
                            }
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    } finally {
                        producersLeft.decrementAndGet();
                    }
                }));
            }
            Thread operator = Thread.ofPlatform().start(() -> {
                Random ops = new Random(seed * 31);
                int changes = 0;
                int reloads = 0;
                try {
                    go.await();
                    while (producersLeft.get() > 0) {
                        dispatcher.overridePolicy("affine", policies.get(ops.nextInt(policies.size())));
                        if (++changes % 150 == 0 && reloads < 2) {
                            unloadsStarted.incrementAndGet();
                            registry.unload(key);
                            Thread.sleep(2);
                            gpu.failWithChance(0); // a failed warm-up would leave the version on the CPU alone
                            registry.load(key);
                            gpu.failWithChance(0.125);
                            loadsFinished.incrementAndGet();
                            reloads++;
                        }
                        Thread.sleep(1 + ops.nextInt(2));
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            go.countDown();
            for (Thread t : threads) {
                t.join();
            }
            operator.join();

            Map<ErrorCode, Integer> failures = new EnumMap<>(ErrorCode.class);
            Map<Integer, Integer> succeededRows = new HashMap<>();
            Map<Integer, Integer> failedRows = new HashMap<>();
            int onDevice = 0;
            for (int id = 1; id <= total; id++) {
                try {
                    InferenceResult r = futures.get(id).get(30, TimeUnit.SECONDS);
                    assertThat(r.outputs().get("y").floats()).as("request %d", id)
                            .containsExactly(TestModels.expected(id, rows[id]));
                    succeededRows.put(id, rows[id]);
                    if (r.backend().equals("gpu")) {
                        onDevice++;
                    }
                } catch (ExecutionException e) {
                    int request = id;
                    assertThat(e.getCause()).as("request %d", id).isInstanceOfSatisfying(WeirException.class, w -> {
                        switch (w.code()) {
                            case RESOURCE_EXHAUSTED -> { }
                            case DEADLINE_EXCEEDED -> assertThat(shortDeadline[request])
                                    .as("request %d (no short deadline) timed out: %s", request, w.getMessage()).isTrue();
                            case UNAVAILABLE -> assertThat(unloadsAtAnswer[request] > loadsAtSubmit[request])
                                    .as("request %d answered UNAVAILABLE outside a reload: %s", request, w.getMessage())
                                    .isTrue();
                            default -> throw new AssertionError("request " + request + " failed with " + w.code()
                                    + ": " + w.getMessage(), w);
                        }
                    });
                    failures.merge(((WeirException) e.getCause()).code(), 1, Integer::sum);
                    failedRows.put(id, rows[id]);
                }
            }

            Map<Integer, Integer> computed = new HashMap<>();
            for (AffineBackend backend : List.of(gpu, cpu)) {
                for (List<Float> batch : backend.batches()) {
                    for (Float offset : batch) {
                        int id = (int) (float) offset;
                        if (id != 0) { // 0: a reload's warm-up
                            computed.merge(id, 1, Integer::sum);
                        }
                    }
                }
            }
            succeededRows.forEach((id, n) -> assertThat(computed.getOrDefault(id, 0))
                    .as("rows of request %d computed by successful calls", id).isEqualTo(n));
            failedRows.forEach((id, n) -> assertThat(computed.getOrDefault(id, 0))
                    .as("rows of failed request %d computed", id).isLessThanOrEqualTo(n));
            assertThat(dispatcher.doubleAnswers()).as("double answers").isZero();
            assertThat(loadsFinished.get()).as("reloads done while requests flowed").isEqualTo(2);
            assertThat(succeededRows.size()).as("answered with values (failures %s)", failures).isGreaterThan(total / 4);
            assertThat(onDevice).as("requests served by the device").isPositive();
            // Each of these was rerun on the CPU: no request above failed for it.
            assertThat(gpu.injectedFailures()).as("device calls that failed").isPositive();
        } finally {
            registry.close();
        }
    }
}
