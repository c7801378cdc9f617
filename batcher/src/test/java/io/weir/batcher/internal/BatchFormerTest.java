package io.weir.batcher.internal;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.InferenceResult;
import io.weir.batcher.Priority;
import io.weir.batcher.testing.TestModels;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import static org.assertj.core.api.Assertions.assertThat;

/** Batching decisions, expiry and priorities, on an injected clock with the test playing every thread. */
class BatchFormerTest {
    @TempDir
    Path dir;

    private static JsonObject fixed(long delayUs, int... preferred) {
        JsonArray p = new JsonArray();
        for (int r : preferred) {
            p.add(r);
        }
        return new JsonObject().put("policy", "fixed").put("max_queue_delay_us", delayUs).put("preferred_batch_rows", p);
    }

    static void assertAnswer(CompletableFuture<InferenceResult> f, int id, int rows) {
        assertThat(f).isCompleted();
        InferenceResult r = f.join();
        assertThat(r.outputs().get("y").floats()).containsExactly(TestModels.expected(id, rows));
    }

    static WeirException failure(CompletableFuture<InferenceResult> f) {
        assertThat(f).isCompletedExceptionally();
        return (WeirException) f.handle((r, e) -> e).join();
    }

    @Test
    void fixedPolicyWaitsForTheDelayCountedFromEnqueueThenRunsOneBatch() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, fixed(2_000), 16, 100, false, Map.of(), 1)) {
            CompletableFuture<InferenceResult> a = h.arrive(1, 2, Priority.NORMAL);
            long firstEnqueue = h.clock.nanos();
            h.clock.advanceMillis(0.5);
            CompletableFuture<InferenceResult> b = h.arrive(2, 3, Priority.NORMAL);
            h.decide();
            assertThat(h.cpuPool.queued()).isZero();
            assertThat(h.wakeAt()).isEqualTo(firstEnqueue + 2_000_000);

            h.clock.advanceMillis(1.5);
            h.decide();
            assertThat(h.cpuPool.runAll()).isEqualTo(1);
            assertThat(h.batchSizes(h.cpu)).containsExactly(5);
            assertAnswer(a, 1, 2);
            assertAnswer(b, 2, 3);
            assertThat(a.join().batchRows()).isEqualTo(5);
            assertThat(a.join().queueNanos()).isEqualTo(2_000_000);
            assertThat(b.join().queueNanos()).isEqualTo(1_500_000);
            assertThat(h.count("weir.batcher.flushes", "policy", "fixed", "reason", "delay")).isEqualTo(1);
            assertThat(h.count("weir.batcher.flushed.requests", "policy", "fixed", "reason", "delay")).isEqualTo(2);
        }
    }

    @Test
    void fixedPolicyFlushesAtTheCapAndAtAPreferredSizeAsTritonDoes() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, fixed(1_000_000, 4, 6), 8, 100, false, Map.of(), 4)) {
            for (int i = 0; i < 3; i++) {
                h.arrive(i, 1, Priority.NORMAL);
            }
            h.decide();
            h.arrive(3, 2, Priority.NORMAL);
            h.decide();
            // 5 rows: past the preferred 4, short of 6, which one more row could still make: Triton waits.
            assertThat(h.cpuPool.queued()).isZero();
            h.arrive(4, 1, Priority.NORMAL);
            h.decide();
            h.cpuPool.runAll();
            assertThat(h.batchSizes(h.cpu)).as("exactly the preferred 6").containsExactly(6);
            h.cpu.reset();

            for (int i = 10; i < 20; i++) {
                h.arrive(i, 1, Priority.NORMAL);
            }
            h.decide();
            h.cpuPool.runAll();
            // 10 rows: the cap's 8 first; then 2 left, no preferred size: they wait (for the delay, or their deadline).
            assertThat(h.batchSizes(h.cpu)).containsExactly(8);
            assertThat(h.count("weir.batcher.flushes", "policy", "fixed", "reason", "preferred")).isEqualTo(1);
            assertThat(h.count("weir.batcher.flushed.requests", "policy", "fixed", "reason", "preferred")).isEqualTo(5);
            assertThat(h.count("weir.batcher.flushes", "policy", "fixed", "reason", "full")).isEqualTo(1);
            assertThat(h.count("weir.batcher.flushed.requests", "policy", "fixed", "reason", "full")).isEqualTo(8);
        }
    }

    @Test
    void fixedPolicySendsWhatFitsTheLargestPreferredSizeOnceTheNextRequestWouldPassIt() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, fixed(5_000, 8, 16), 32, 100, false, Map.of(), 4)) {
            // 3-row requests one at a time: 6 and 12 are not preferred sizes, 18 passes 16, so the 15 rows that fit go.
            for (int i = 0; i < 6; i++) {
                h.arrive(i, 3, Priority.NORMAL);
                h.decide();
            }
            h.cpuPool.runAll();
            assertThat(h.batchSizes(h.cpu)).containsExactly(15);
            assertThat(h.count("weir.batcher.flushes", "policy", "fixed", "reason", "preferred")).isEqualTo(1);
        }
    }

    @Test
    void aSplitRequestThatExpiresCountsAsOneTimeout() throws Exception {
        // Parts of 4, 4 and 2 rows, 10 in all under the 16-row cap: they wait together for the delay, past the deadline.
        try (LaneHarness h = new LaneHarness(dir, fixed(1_000_000), 16, 100, false, Map.of(), 1)) {
            CompletableFuture<InferenceResult> f = h.arriveSplit(1, 10, 4, h.clock.nanos() + 1_000_000);
            h.decide();
            h.advanceTo(h.clock.nanos() + 2_000_000);
            assertThat(failure(f).code()).isEqualTo(io.weir.runtime.ErrorCode.DEADLINE_EXCEEDED);
            assertThat(h.count("weir.batcher.timeouts", "stage", "queue")).as("three parts, one request").isEqualTo(1);
            assertThat(h.lane.queuedRequests()).isZero();
        }
    }

    @Test
    void thePartsOfASplitRequestThatFailedAreNotComputed() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, fixed(0), 4, 100, false, Map.of(), 4)) {
            h.cpu.failNext(1);
            CompletableFuture<InferenceResult> f = h.arriveSplit(1, 10, 4, h.clock.nanos() + h.budgetNanos);
            h.decide();
            assertThat(h.cpuPool.queued()).as("a batch a part").isEqualTo(3);
            h.cpuPool.runAll();
            assertThat(failure(f).code()).isEqualTo(io.weir.runtime.ErrorCode.INTERNAL);
            assertThat(h.cpu.calls()).as("the first part's batch failed the request: the others are dropped").isEqualTo(1);
            assertThat(h.lane.inFlightBatches()).isZero();
            assertThat(h.duplicates.sum()).isZero();
        }
    }

    @Test
    void noneRunsEveryRequestAlone() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, new JsonObject().put("policy", "none"), 8, 100, false, Map.of(), 8)) {
            for (int i = 0; i < 4; i++) {
                h.arrive(i, 2, Priority.NORMAL);
            }
            h.decide();
            h.cpuPool.runAll();
            assertThat(h.batchSizes(h.cpu)).containsExactly(2, 2, 2, 2);
        }
    }

    @Test
    void expiredRequestsAreAnsweredAtTheirDeadlineAndNeverComputed() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, fixed(10_000), 16, 100, false, Map.of(), 1)) {
            long deadline = h.clock.nanos() + 3_000_000;
            CompletableFuture<InferenceResult> shortTimeout = h.arrive(1, 1, Priority.NORMAL, deadline);
            CompletableFuture<InferenceResult> normal = h.arrive(2, 1, Priority.NORMAL);
            h.decide();
            assertThat(h.wakeAt()).isEqualTo(deadline);

            h.clock.advanceMillis(3);
            h.decide();
            assertThat(failure(shortTimeout).code()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED);
            assertThat(normal).isNotDone();
            assertThat(h.count("weir.batcher.timeouts", "stage", "queue")).isEqualTo(1);

            h.clock.advanceMillis(7);
            h.decide();
            h.cpuPool.runAll();
            assertAnswer(normal, 2, 1);
            assertThat(h.batchSizes(h.cpu)).containsExactly(1);
            assertThat(h.lane.queuedRequests()).isZero();
        }
    }

    @Test
    void requestsExpiringWhileQueuedForAWorkerAreDroppedBeforeCompute() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, fixed(0), 16, 100, false, Map.of(), 1)) {
            CompletableFuture<InferenceResult> late = h.arrive(1, 1, Priority.NORMAL, h.clock.nanos() + 1_000_000);
            h.decide();
            assertThat(h.cpuPool.queued()).isEqualTo(1);
            h.clock.advanceMillis(2);
            h.cpuPool.runAll();
            assertThat(failure(late).code()).isEqualTo(ErrorCode.DEADLINE_EXCEEDED);
            assertThat(h.cpu.calls()).isZero();
            assertThat(h.count("weir.batcher.timeouts", "stage", "before_compute")).isEqualTo(1);
            assertThat(h.lane.inFlightBatches()).isZero();
        }
    }

    @Test
    void highPriorityIsBatchedFirst() throws Exception {
        try (LaneHarness h = new LaneHarness(dir, fixed(0), 2, 100, false, Map.of(), 4)) {
            h.arrive(1, 1, Priority.NORMAL);
            h.arrive(2, 1, Priority.NORMAL);
            h.arrive(3, 1, Priority.HIGH);
            h.arrive(4, 1, Priority.NORMAL);
            h.arrive(5, 1, Priority.HIGH);
            h.decide();
            h.cpuPool.runAll();
            assertThat(h.cpu.batches()).containsExactly(List.of(3f, 5f), List.of(1f, 2f), List.of(4f));
        }
    }

    @Test
    void whileEverySlotIsBusyRequestsAccumulateIntoTheNextBatch() throws Exception {
        // One CPU thread: two batches may be in flight (one computing, one ready behind it).
        try (LaneHarness h = new LaneHarness(dir, fixed(0), 16, 100, false, Map.of(), 1)) {
            h.arrive(1, 1, Priority.NORMAL);
            h.decide();
            h.arrive(2, 1, Priority.NORMAL);
            h.decide();
            assertThat(h.cpuPool.queued()).isEqualTo(2);
            for (int i = 3; i < 8; i++) {
                h.arrive(i, 1, Priority.NORMAL);
                h.decide();
            }
            assertThat(h.cpuPool.queued()).isEqualTo(2);
            assertThat(h.wakeAt()).as("still wakes for the earliest deadline").isEqualTo(h.clock.nanos() + 100_000_000L);

            h.cpuPool.runOne();
            h.decide(); // what the worker's poke makes the batching thread do
            h.cpuPool.runAll();
            assertThat(h.batchSizes(h.cpu)).containsExactly(1, 1, 5);
        }
    }
}
