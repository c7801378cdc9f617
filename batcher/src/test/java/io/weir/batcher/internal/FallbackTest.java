package io.weir.batcher.internal;

import io.vertx.core.json.JsonObject;
import io.weir.batcher.BackendHealth;
import io.weir.batcher.InferenceResult;
import io.weir.batcher.Priority;
import io.weir.batcher.testing.TestModels;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.ModelKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static io.weir.batcher.internal.BatchFormerTest.assertAnswer;
import static io.weir.batcher.internal.BatchFormerTest.failure;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

    /** Trips the observed device's breaker: {@code TRIP_AFTER} single-request batches fail on it and run on the CPU. */
    private static void tripTheBreaker(LaneHarness h) {
        h.gpu.failAlways(true, true);
        for (int i = 0; i < Backends.Observed.TRIP_AFTER; i++) {
            CompletableFuture<InferenceResult> f = h.arrive(100 + i, 1, Priority.NORMAL);
            h.decide();
            h.gpuPool.runAll();
            h.cpuPool.runAll();
            assertAnswer(f, 100 + i, 1);
        }
        assertThat(h.backends.health("gpu").healthy()).isFalse();
    }

    @Test
    void aDeviceBatchWhoseRequestsAllExpiredBeforeItRanDoesNotCloseTheBreaker() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, FIXED_NOW, 16, 50, true, Map.of(), 1)) {
            h.gpu.failAlways(true, true);
            List<CompletableFuture<InferenceResult>> failing = new ArrayList<>();
            for (int i = 0; i < Backends.Observed.TRIP_AFTER - 1; i++) {
                failing.add(h.arrive(i, 1, Priority.NORMAL));
                h.decide();
                h.gpuPool.runAll();
                h.cpuPool.runAll();
            }
            failing.add(h.arrive(Backends.Observed.TRIP_AFTER - 1, 1, Priority.NORMAL));
            h.decide();
            // Queued on the device behind the last failing one, while its breaker was still closed.
            CompletableFuture<InferenceResult> late = h.arrive(9, 1, Priority.NORMAL, h.clock.nanos() + 1_000_000);
            h.decide();
            assertThat(h.gpuPool.queued()).isEqualTo(2);
            h.gpuPool.runOne();
            assertThat(h.backends.health("gpu").healthy()).isFalse();

            h.clock.advance(2_000_000);
            h.gpuPool.runOne();
            assertThat(failure(late).code()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED);
            assertThat(h.backends.health("gpu").healthy()).as("nothing ran on the device").isFalse();
            assertThat(h.backends.health("gpu").inFlight()).isZero();

            h.cpuPool.runAll();
            for (int i = 0; i < failing.size(); i++) {
                assertAnswer(failing.get(i), i, 1);
            }
            assertThat(h.lane.inFlightBatches()).isZero();
            assertThat(h.duplicates.sum()).isZero();
        }
    }

    @Test
    void aRequestsOwnFaultOnTheDeviceDoesNotTakeTheDeviceOutOfRotation() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, FIXED_NOW, 16, 50, true, Map.of(), 1)) {
            h.gpu.failAlways(true, false); // e.g. an embedding index out of range of its table
            for (int i = 0; i < 2 * Backends.Observed.TRIP_AFTER; i++) {
                CompletableFuture<InferenceResult> f = h.arrive(i, 1, Priority.NORMAL);
                h.decide();
                assertThat(h.gpuPool.runAll()).as("request %d goes to the device", i).isEqualTo(1);
                h.cpuPool.runAll();
                assertAnswer(f, i, 1);
                assertThat(f.join().backend()).isEqualTo("cpu");
            }
            assertThat(h.backends.health("gpu").healthy()).isTrue();
            assertThat(h.count("weir.batcher.fallbacks", "from", "gpu", "to", "cpu", "reason", "unhealthy")).isZero();
        }
    }

    @Test
    void afterTheCoolDownOneTrialBatchAtATimeGoesToTheDevice() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, FIXED_NOW, 16, 50, true, Map.of(), 1)) {
            tripTheBreaker(h);
            h.gpu.failAlways(false, true);
            h.clock.advance(Backends.Observed.COOL_DOWN);
            assertThat(h.backends.health("gpu").healthy()).isTrue();

            CompletableFuture<InferenceResult> trial = h.arrive(1, 1, Priority.NORMAL);
            h.decide();
            CompletableFuture<InferenceResult> whileTrialRuns = h.arrive(2, 1, Priority.NORMAL);
            h.decide();
            assertThat(h.gpuPool.queued()).as("only the trial on the device").isEqualTo(1);
            assertThat(h.cpuPool.queued()).isEqualTo(1);
            assertThat(h.backends.health("gpu").healthy()).as("the trial is out").isFalse();

            h.gpuPool.runAll();
            h.cpuPool.runAll();
            assertThat(trial.join().backend()).isEqualTo("gpu");
            assertAnswer(whileTrialRuns, 2, 1);
            assertThat(whileTrialRuns.join().backend()).isEqualTo("cpu");
            assertThat(h.backends.health("gpu").healthy()).as("the trial succeeded").isTrue();

            CompletableFuture<InferenceResult> next = h.arrive(3, 1, Priority.NORMAL);
            CompletableFuture<InferenceResult> another = h.arrive(4, 1, Priority.NORMAL, h.clock.nanos() + h.budgetNanos);
            h.decide();
            h.gpuPool.runAll();
            assertThat(next.join().backend()).isEqualTo("gpu");
            assertThat(another.join().backend()).isEqualTo("gpu");
        }
    }

    @Test
    void aFailedTrialOpensTheBreakerForAnotherCoolDown() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, FIXED_NOW, 16, 50, true, Map.of(), 1)) {
            tripTheBreaker(h);
            h.clock.advance(Backends.Observed.COOL_DOWN);
            CompletableFuture<InferenceResult> trial = h.arrive(1, 1, Priority.NORMAL);
            h.decide();
            h.gpuPool.runAll();
            h.cpuPool.runAll();
            assertAnswer(trial, 1, 1);
            assertThat(trial.join().backend()).isEqualTo("cpu");
            assertThat(h.backends.health("gpu").healthy()).isFalse();
            h.clock.advance(Backends.Observed.COOL_DOWN - 1);
            assertThat(h.backends.health("gpu").healthy()).isFalse();
            h.clock.advance(1);
            assertThat(h.backends.health("gpu").healthy()).isTrue();
        }
    }

    @Test
    void anErrorFromTheBackendAnswersTheBatchAndGivesBackItsSlotAndLease() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, FIXED_NOW, 16, 50, false, Map.of(), 1)) {
            h.cpu.throwNext(new OutOfMemoryError("injected"));
            CompletableFuture<InferenceResult> a = h.arrive(1, 1, Priority.NORMAL);
            CompletableFuture<InferenceResult> b = h.arrive(2, 2, Priority.NORMAL);
            h.decide();
            assertThatThrownBy(h.cpuPool::runAll).as("the JVM's own trouble still reaches the worker")
                    .isInstanceOf(OutOfMemoryError.class);
            assertThat(failure(a).code()).isEqualTo(ErrorCode.INTERNAL);
            assertThat(failure(b).code()).isEqualTo(ErrorCode.INTERNAL);
            assertThat(h.lane.inFlightBatches()).isZero();
            assertThat(h.registry.peek(h.key).orElseThrow().inFlight()).as("model leases").isZero();

            h.cpu.throwNext(new LinkageError("injected: a native library failed to link"));
            CompletableFuture<InferenceResult> c = h.arrive(3, 1, Priority.NORMAL);
            h.decide();
            h.cpuPool.runAll();
            assertThat(failure(c).code()).isEqualTo(ErrorCode.INTERNAL);

            CompletableFuture<InferenceResult> d = h.arrive(4, 1, Priority.NORMAL);
            h.decide();
            h.cpuPool.runAll();
            assertAnswer(d, 4, 1);
            assertThat(h.lane.inFlightBatches()).isZero();
            assertThat(h.registry.peek(h.key).orElseThrow().inFlight()).isZero();
            assertThat(h.duplicates.sum()).isZero();
        }
    }

    @Test
    void aBatchIsCheckedAgainstTheVersionItRanOnNotOneReloadedMeanwhile() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, FIXED_NOW, 16, 50, false, Map.of(), 1)) {
            CompletableFuture<InferenceResult> a = h.arrive(1, 1, Priority.NORMAL);
            CompletableFuture<InferenceResult> b = h.arrive(2, 1, Priority.NORMAL);
            h.decide();
            // The lane's config moves on (a reload that declares another output) while the batch runs on the
            // version it was formed for, whose backend knows nothing of that output.
            JsonObject reloaded = TestModels.config("affine", 16, 50, FIXED_NOW);
            reloaded.getJsonArray("outputs").add(new JsonObject().put("name", "z").put("datatype", "FP32")
                    .put("shape", new io.vertx.core.json.JsonArray().add(-1).add(1)));
            h.lane.reconfigure(io.weir.runtime.ModelConfig.parse(reloaded));
            assertThat(h.lane.config().outputs()).hasSize(2);

            h.cpuPool.runAll();
            assertAnswer(a, 1, 1);
            assertAnswer(b, 2, 1);
        }
    }
}
