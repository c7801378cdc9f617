package io.weir.batcher;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.testing.AffineBackend;
import io.weir.batcher.testing.TestModels;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Ticker;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Many producers at once on real threads: every response reaches its own request (each request's rows carry its id,
 * so a row answered to the wrong request fails), nothing is lost, nothing is answered twice.
 */
class BatchingStressTest {
    private static final int PRODUCERS = 6;
    private static final int PER_PRODUCER = 1500;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"adaptive", "fixed", "none"})
    void everyResponseReachesItsOwnRequestExactlyOnce(String policy) throws Exception {
        ModelKey key = new ModelKey("affine", "1.0.0");
        JsonObject batching = new JsonObject().put("policy", policy);
        if (!policy.equals("none")) {
            batching.put("max_queue_delay_us", 200); // 'none' has no delay to set, and refuses the key
        }
        TestModels.write(dir, TestModels.config("affine", 16, 30_000, batching), "1.0.0");
        AffineBackend cpu = new AffineBackend("cpu", null);
        ModelRegistry registry = TestModels.registry(dir, List.of(cpu));
        cpu.reset();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        try (BatchingDispatcher dispatcher = new BatchingDispatcher(registry, Ticker.system(), 2, meters,
                BatchingOptions.defaults().withRingSize(16_384))) {
            List<List<CompletableFuture<InferenceResult>>> all = new ArrayList<>();
            int[][] rows = new int[PRODUCERS][PER_PRODUCER];
            CountDownLatch go = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int p = 0; p < PRODUCERS; p++) {
                int producer = p;
                List<CompletableFuture<InferenceResult>> mine = new ArrayList<>(PER_PRODUCER);
                all.add(mine);
                Random random = new Random(42 + p);
                for (int i = 0; i < PER_PRODUCER; i++) {
                    // Mostly small requests, some larger than the 16-row cap (split and stitched).
                    rows[p][i] = random.nextInt(20) == 0 ? 17 + random.nextInt(20) : 1 + random.nextInt(6);
                }
                threads.add(Thread.ofPlatform().start(() -> {
                    try {
                        go.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; i < PER_PRODUCER; i++) {
                        int id = producer * PER_PRODUCER + i;
                        long now = dispatcher.ticker().nanos();
                        Priority priority = (id % 3 == 0) ? Priority.HIGH : Priority.NORMAL;
                        mine.add(dispatcher.submit(TestModels.request(key, id, rows[producer][i], now, Long.MAX_VALUE, priority)));
                    }
                }));
            }
            go.countDown();
            for (Thread t : threads) {
                t.join();
            }
            long totalRows = 0;
            int refused = 0;
            for (int p = 0; p < PRODUCERS; p++) {
                for (int i = 0; i < PER_PRODUCER; i++) {
                    int id = p * PER_PRODUCER + i;
                    InferenceResult r;
                    try {
                        r = all.get(p).get(i).get(30, TimeUnit.SECONDS);
                    } catch (java.util.concurrent.ExecutionException e) {
                        // Refused at admission is an answer too (nothing queued, nothing computed): on a loaded
                        // machine a few slow batches can raise the predicted wait past the budget for a moment.
                        assertThat(e.getCause()).as("request %d", id).isInstanceOfSatisfying(io.weir.runtime.WeirException.class,
                                w -> assertThat(w.code()).isEqualTo(io.weir.runtime.ErrorCode.RESOURCE_EXHAUSTED));
                        refused++;
                        continue;
                    }
                    assertThat(r.outputs().get("y").floats()).as("request %d", id)
                            .containsExactly(TestModels.expected(id, rows[p][i]));
                    totalRows += rows[p][i];
                }
            }
            assertThat(refused).as("refused at admission").isLessThan(PRODUCERS * PER_PRODUCER / 2);
            long computed = cpu.batches().stream().mapToLong(List::size).sum();
            assertThat(computed).as("every admitted row computed once").isEqualTo(totalRows);
            assertThat(cpu.batches()).allSatisfy(b -> assertThat(b.size()).isLessThanOrEqualTo(16));
            assertThat(dispatcher.doubleAnswers()).isZero();
            if (!policy.equals("none")) {
                assertThat(cpu.batches().size()).as("requests were batched").isLessThan(PRODUCERS * PER_PRODUCER);
            }
        } finally {
            registry.close();
        }
    }
}
