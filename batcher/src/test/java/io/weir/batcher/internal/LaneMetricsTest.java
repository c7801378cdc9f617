package io.weir.batcher.internal;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.weir.batcher.LatencySnapshot;
import io.weir.batcher.LatencySnapshot.Stage;
import io.weir.batcher.testing.FakeTicker;
import io.weir.runtime.ModelKey;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.data.Offset.offset;

/** The lanes' interval recorders: one set per recording thread, added up at a roll, nothing lost or counted twice. */
class LaneMetricsTest {
    private static final ModelKey KEY = new ModelKey("m", "1.0.0");

    private final FakeTicker clock = new FakeTicker();
    private final LaneMetrics metrics = new LaneMetrics(KEY, new SimpleMeterRegistry(), clock, 0);

    private Map<Stage, LatencySnapshot> roll() {
        return metrics.snapshot().stream().collect(Collectors.toMap(LatencySnapshot::stage, Function.identity()));
    }

    @Test
    void workersRecordingAtOnceAreAddedUpAtARoll() throws InterruptedException {
        int threads = 4;
        int perThread = 20_000;
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int worker = t;
            // worker w waits (w + 1) ms and answers 1 ms later; each also finishes a batch every 10 requests
            workers.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < perThread; i++) {
                    metrics.request("cpu", (worker + 1) * 1_000_000L, (worker + 2) * 1_000_000L);
                    if (i % 10 == 0) {
                        metrics.batch("cpu", 10, 10, 500_000L);
                    }
                }
            }));
        }
        for (Thread w : workers) {
            w.join();
        }
        Map<Stage, LatencySnapshot> s = roll();
        assertThat(s.get(Stage.QUEUE).count()).isEqualTo((long) threads * perThread);
        assertThat(s.get(Stage.TOTAL).count()).isEqualTo((long) threads * perThread);
        assertThat(s.get(Stage.COMPUTE).count()).isEqualTo((long) threads * perThread / 10);
        // a quarter of the requests each at 1, 2, 3 and 4 ms of queue wait: the median is 2 ms, the p95 and max 4 ms
        assertThat(s.get(Stage.QUEUE).p50Ms()).isCloseTo(2.0, offset(0.02));
        assertThat(s.get(Stage.QUEUE).p95Ms()).isCloseTo(4.0, offset(0.04));
        assertThat(s.get(Stage.TOTAL).maxMs()).isCloseTo(5.0, offset(0.05));
        assertThat(s.get(Stage.COMPUTE).p99Ms()).isCloseTo(0.5, offset(0.005));
        assertThat(metrics.recordingThreads("cpu")).as("the workers have ended: dropped at this roll")
                .isZero();
        assertThat(roll().get(Stage.QUEUE).count()).as("and nothing of theirs counted again").isZero();
    }

    @Test
    void aLiveWorkerKeepsItsRecordersAndEachRollHoldsOnlyItsInterval() {
        metrics.request("cpu", 3_000_000L, 4_000_000L);
        assertThat(roll().get(Stage.QUEUE).count()).isEqualTo(1);
        assertThat(metrics.recordingThreads("cpu")).as("this thread is alive").isEqualTo(1);
        metrics.request("cpu", 5_000_000L, 6_000_000L);
        metrics.request("cpu", 5_000_000L, 6_000_000L);
        LatencySnapshot queue = roll().get(Stage.QUEUE);
        assertThat(queue.count()).isEqualTo(2);
        assertThat(queue.p50Ms()).isCloseTo(5.0, offset(0.05));
        assertThat(roll().get(Stage.QUEUE).count()).as("an interval with nothing recorded").isZero();
    }

    @Test
    void valuesOutsideTheRangeAreClampedNotThrown() {
        metrics.request("cpu", -5, 7_200_000_000_000L);   // a clock step backwards; a request two hours old
        Map<Stage, LatencySnapshot> s = roll();
        assertThat(s.get(Stage.QUEUE).maxMs()).isLessThan(0.002);
        assertThat(s.get(Stage.TOTAL).maxMs()).isCloseTo(3_600_000.0, offset(36_000.0));
    }
}
