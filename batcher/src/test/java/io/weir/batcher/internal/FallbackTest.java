package io.weir.batcher.internal;

import io.vertx.core.json.JsonObject;
import io.weir.batcher.BackendHealth;
import io.weir.batcher.InferenceResult;
import io.weir.batcher.Priority;
import io.weir.runtime.ModelKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static io.weir.batcher.internal.BatchFormerTest.assertAnswer;
import static org.assertj.core.api.Assertions.assertThat;

/** Per-batch backend choice: a GPU-like backend first, the CPU when it fails, is unhealthy or would be too slow. */
class FallbackTest {
    @TempDir
    Path dir;

    private static final JsonObject FIXED_NOW = new JsonObject().put("policy", "fixed").put("max_queue_delay_us", 0);

    /** A device whose health and predicted latency the test sets. */
    static final class DeviceHealth implements BackendHealth {
        volatile boolean healthy = true;
        volatile long predictedNanos;

        @Override
        public boolean healthy() {
            return healthy;
        }

        @Override
        public long predictedLatencyNanos(ModelKey model, int rows) {
            return predictedNanos;
        }

        @Override
        public int inFlight() {
            return 0;
        }
    }

    private static List<CompletableFuture<InferenceResult>> arriveThree(LaneHarness h) {
        List<CompletableFuture<InferenceResult>> fs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            fs.add(h.arrive(i, i + 1, Priority.NORMAL));
        }
        h.decide();
        return fs;
    }

    @Test
    void aHealthyFastDeviceRunsTheBatch() throws Exception {
        DeviceHealth health = new DeviceHealth();
        health.predictedNanos = 1_000_000;
        try (LaneHarness h = new LaneHarness(dir, FIXED_NOW, 16, 50, true, Map.of("gpu", health), 1)) {
            List<CompletableFuture<InferenceResult>> fs = arriveThree(h);
            assertThat(h.gpuPool.runAll()).isEqualTo(1);
            for (int i = 0; i < 3; i++) {
                assertAnswer(fs.get(i), i, i + 1);
                assertThat(fs.get(i).join().backend()).isEqualTo("gpu");
                assertThat(fs.get(i).join().fellBack()).isFalse();
            }
            assertThat(h.cpu.calls()).isZero();
            assertThat(h.count("weir.batcher.fallbacks")).isZero();
        }
    }

    @Test
    void aFailingDeviceCallIsRerunOnTheCpuAndEveryRequestIsAnsweredOnce() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, FIXED_NOW, 16, 50, true, Map.of(), 1)) {
            h.gpu.failNext(1);
            List<CompletableFuture<InferenceResult>> fs = arriveThree(h);
            assertThat(h.gpuPool.runAll()).isEqualTo(1);
            assertThat(fs).noneMatch(CompletableFuture::isDone);
            assertThat(h.cpuPool.runAll()).isEqualTo(1);
            for (int i = 0; i < 3; i++) {
                assertAnswer(fs.get(i), i, i + 1);
                assertThat(fs.get(i).join().backend()).isEqualTo("cpu");
                assertThat(fs.get(i).join().fellBack()).isTrue();
                assertThat(fs.get(i).join().batchRows()).isEqualTo(6);
            }
            assertThat(h.gpu.calls()).isEqualTo(1);
            assertThat(h.cpu.calls()).isEqualTo(1);
            assertThat(h.duplicates.sum()).isZero();
            assertThat(h.count("weir.batcher.fallbacks", "from", "gpu", "to", "cpu", "reason", "failure")).isEqualTo(1);
            assertThat(h.lane.inFlightBatches()).isZero();
        }
    }

    @Test
    void aSaturatedDeviceIsPassedOverForTheCpu() throws Exception {
        DeviceHealth health = new DeviceHealth();
        health.predictedNanos = 80_000_000; // the budget is 50 ms
        try (LaneHarness h = new LaneHarness(dir, FIXED_NOW, 16, 50, true, Map.of("gpu", health), 1)) {
            List<CompletableFuture<InferenceResult>> fs = arriveThree(h);
            assertThat(h.gpuPool.queued()).isZero();
            h.cpuPool.runAll();
            assertAnswer(fs.getFirst(), 0, 1);
            assertThat(fs.getFirst().join().backend()).isEqualTo("cpu");
            assertThat(fs.getFirst().join().fellBack()).isTrue();
            assertThat(h.gpu.calls()).isZero();
            assertThat(h.count("weir.batcher.fallbacks", "from", "gpu", "to", "cpu", "reason", "saturated")).isEqualTo(1);

            health.predictedNanos = 5_000_000;
            h.arrive(9, 1, Priority.NORMAL);
            h.decide();
            assertThat(h.gpuPool.runAll()).isEqualTo(1);
            assertThat(h.gpu.calls()).isEqualTo(1);
        }
    }

    @Test
    void anObservedDeviceThatKeepsFailingIsTakenOutOfRotationUntilItsCoolDown() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, FIXED_NOW, 16, 50, true, Map.of(), 1)) {
            h.gpu.failAlways(true, true);
            for (int i = 0; i < Backends.Observed.TRIP_AFTER; i++) {
                CompletableFuture<InferenceResult> f = h.arrive(i, 1, Priority.NORMAL);
                h.decide();
                h.gpuPool.runAll();
                h.cpuPool.runAll();
                assertAnswer(f, i, 1);
            }
            CompletableFuture<InferenceResult> f = h.arrive(7, 1, Priority.NORMAL);
            h.decide();
            assertThat(h.gpuPool.queued()).isZero();
            h.cpuPool.runAll();
            assertAnswer(f, 7, 1);
            assertThat(h.count("weir.batcher.fallbacks", "from", "gpu", "to", "cpu", "reason", "unhealthy")).isEqualTo(1);

            h.gpu.failAlways(false, true);
            h.clock.advance(Backends.Observed.COOL_DOWN);
            CompletableFuture<InferenceResult> g = h.arrive(8, 1, Priority.NORMAL);
            h.decide();
            assertThat(h.gpuPool.runAll()).isEqualTo(1);
            assertThat(g.join().backend()).isEqualTo("gpu");
        }
    }

    @Test
    void aRequestThatBreaksItsBatchOnTheCpuDoesNotFailItsBatchMates() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, FIXED_NOW, 16, 50, false, Map.of(), 1)) {
            h.cpu.failNext(2); // the batch, then the first request alone
            List<CompletableFuture<InferenceResult>> fs = new ArrayList<>();
            h.cpu.failAlways(false, false);
            for (int i = 0; i < 3; i++) {
                fs.add(h.arrive(i, 1, Priority.NORMAL));
            }
            h.decide();
            h.cpuPool.runAll();
            assertThat(fs.getFirst()).isCompletedExceptionally();
            assertAnswer(fs.get(1), 1, 1);
            assertAnswer(fs.get(2), 2, 1);
            assertThat(h.duplicates.sum()).isZero();
        }
    }
}
