package io.weir.batcher.internal;

import io.vertx.core.json.JsonObject;
import io.weir.batcher.InferenceResult;
import io.weir.batcher.Priority;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static io.weir.batcher.internal.BatchFormerTest.assertAnswer;
import static org.assertj.core.api.Assertions.assertThat;

/** The adaptive policy inside a lane: it learns compute time from real batches and waits only when it pays. */
class AdaptiveLaneTest {
    @TempDir
    Path dir;

    @Test
    void atLowLoadEachRequestRunsAtOnceAndUnderLoadBatchesGrowWithinTheBudget() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, new JsonObject().put("policy", "adaptive"), 64, 50, false, Map.of(), 1)) {
            // Compute: 2 ms fixed + 20 µs per row, measured on the injected clock from the backend's own calls.
            h.cpu.latency(rows -> 2_000_000L + 20_000L * rows);

            // Low load: one request every 20 ms. Nothing to gain from waiting; each runs alone, right away.
            for (int i = 0; i < 8; i++) {
                CompletableFuture<InferenceResult> f = h.arrive(i, 1, Priority.NORMAL);
                h.decide();
                assertThat(h.cpuPool.runAll()).isEqualTo(1);
                assertAnswer(f, i, 1);
                assertThat(f.join().queueNanos()).isZero();
                h.clock.advanceMillis(20);
            }
            assertThat(h.backends.fit(h.key, "cpu").observations()).isEqualTo(8);

            // High load: a row every 100 µs (10k rows/s), far beyond one row per 2 ms batch (500 rows/s). A discrete-event run:
            // arrivals due by now are delivered with their own enqueue times, batches compute on the injected clock.
            h.cpu.reset();
            List<CompletableFuture<InferenceResult>> fs = new ArrayList<>();
            long t0 = h.clock.nanos();
            long gap = 100_000;
            int n = 400;
            while (fs.size() < n) {
                while (fs.size() < n && t0 + fs.size() * gap <= h.clock.nanos()) {
                    long enqueue = t0 + fs.size() * gap;
                    fs.add(h.arriveAt(100 + fs.size(), 1, Priority.NORMAL, enqueue, enqueue + h.budgetNanos));
                }
                h.decide();
                h.cpuPool.runAll();
                if (fs.size() < n) {
                    h.advanceTo(Math.max(h.clock.nanos(), t0 + fs.size() * gap));
                }
            }
            h.advanceTo(h.clock.nanos() + 100_000_000L);
            for (int i = 0; i < fs.size(); i++) {
                assertAnswer(fs.get(i), 100 + i, 1);
                assertThat(fs.get(i).join().queueNanos() + fs.get(i).join().computeNanos())
                        .as("queue wait + compute within the 50 ms budget").isLessThanOrEqualTo(50_000_000L);
            }
            List<Integer> sizes = h.batchSizes(h.cpu);
            assertThat(sizes.stream().mapToInt(Integer::intValue).sum()).isEqualTo(n);
            assertThat(sizes.stream().mapToInt(Integer::intValue).max().orElseThrow())
                    .as("batches grew far beyond one row").isGreaterThanOrEqualTo(20);
            assertThat(sizes.size()).as("far fewer batches than requests").isLessThan(n / 8);
        }
    }

    @Test
    void withoutObservedComputeTimesTheAdaptivePolicyDoesNotWait() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, new JsonObject().put("policy", "adaptive"), 64, 50, false, Map.of(), 1)) {
            CompletableFuture<InferenceResult> f = h.arrive(1, 3, Priority.NORMAL);
            h.decide();
            assertThat(h.cpuPool.runAll()).isEqualTo(1);
            assertAnswer(f, 1, 3);
        }
    }
}
