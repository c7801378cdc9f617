package io.weir.perf.gatling;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

/** The interleaved sweep's policy file and measurement order. */
class InterleavedPoliciesTest {
    @TempDir
    Path dir;

    @Test
    void readsLabelsAndPoliciesInFileOrder() throws Exception {
        Path file = Files.writeString(dir.resolve("p.tsv"),
                "fixed-2ms\t{\"policy\":\"fixed\",\"max_queue_delay_us\":2000}\n\nadaptive\t{\"policy\":\"adaptive\"}\n");
        assertThat(InterleavedPolicies.read(file.toString())).containsExactly(
                Map.entry("fixed-2ms", "{\"policy\":\"fixed\",\"max_queue_delay_us\":2000}"),
                Map.entry("adaptive", "{\"policy\":\"adaptive\"}"));
        assertThat(InterleavedPolicies.read("")).isEmpty();
    }

    @Test
    void refusesDuplicateLabelsMissingJsonAndEmptyFiles() throws Exception {
        Path dup = Files.writeString(dir.resolve("dup.tsv"), "a\t{}\na\t{}\n");
        Path noJson = Files.writeString(dir.resolve("nojson.tsv"), "a fixed\n");
        Path empty = Files.writeString(dir.resolve("empty.tsv"), "\n");
        assertThatThrownBy(() -> InterleavedPolicies.read(dup.toString())).hasMessageContaining("unique labels");
        assertThatThrownBy(() -> InterleavedPolicies.read(noJson.toString())).hasMessageContaining("a fixed");
        assertThatThrownBy(() -> InterleavedPolicies.read(empty.toString())).hasMessageContaining("lists no policy");
    }

    @Test
    void everyRateMeasuresEveryPolicyOnceInASeededOrder() {
        List<String> labels = List.of("none", "fixed-0ms", "fixed-5ms", "adaptive");
        List<List<String>> order = InterleavedPolicies.order(labels, 9, 2);
        assertThat(order).hasSize(9).allSatisfy(rate -> assertThat(rate).containsExactlyInAnyOrderElementsOf(labels));
        assertThat(InterleavedPolicies.order(labels, 9, 2)).isEqualTo(order);
        assertThat(new HashSet<>(order)).as("not one fixed order for every rate").hasSizeGreaterThan(1);
        assertThat(InterleavedPolicies.order(labels, 9, 3)).isNotEqualTo(order);
    }

    @Test
    void aRequestCountsForThePolicyInForceFromItsArrivalOutsideGuardAndTail() {
        long ms = 1_000_000L;
        // Three slices nominally at 0, 3000 and 6000 ms; switch 1 was sent 400 ms late, switch 2 never acknowledged.
        long[] sent = {1, 3400 * ms, 6000 * ms};
        long[] done = {5 * ms, 3410 * ms, -1};
        long end = 9000 * ms;
        long guard = 750 * ms;
        long tail = 100 * ms;
        assertThat(InterleavedPolicies.sliceInForce(0, sent, done, end, guard, tail)).as("before any switch").isEqualTo(-1);
        assertThat(InterleavedPolicies.sliceInForce(500 * ms, sent, done, end, guard, tail)).as("slice 0's guard").isEqualTo(-1);
        assertThat(InterleavedPolicies.sliceInForce(800 * ms, sent, done, end, guard, tail)).isZero();
        assertThat(InterleavedPolicies.sliceInForce(3250 * ms, sent, done, end, guard, tail))
                .as("nominally slice 1, but slice 0's policy was still in force").isZero();
        assertThat(InterleavedPolicies.sliceInForce(3350 * ms, sent, done, end, guard, tail)).as("slice 0's tail").isEqualTo(-1);
        assertThat(InterleavedPolicies.sliceInForce(4100 * ms, sent, done, end, guard, tail)).as("guard after the late switch").isEqualTo(-1);
        assertThat(InterleavedPolicies.sliceInForce(4200 * ms, sent, done, end, guard, tail)).isEqualTo(1);
        assertThat(InterleavedPolicies.sliceInForce(7000 * ms, sent, done, end, guard, tail)).as("unacknowledged switch").isEqualTo(-1);
        long[] notYet = {1, 3000 * ms, 0};
        long[] notYetDone = {5 * ms, 3005 * ms, -1};
        assertThat(InterleavedPolicies.sliceInForce(8950 * ms, notYet, notYetDone, end, guard, tail)).as("the span's tail").isEqualTo(-1);
        assertThat(InterleavedPolicies.sliceInForce(8800 * ms, notYet, notYetDone, end, guard, tail)).isEqualTo(1);
    }

    @Test
    void aSliceCountsFromItsAcknowledgementPlusGuardToTheTailBeforeTheNextSwitch() {
        long ms = 1_000_000L;
        // The slices of the test above: slice 0 acknowledged at 5 ms, slice 1 sent 400 ms late and acknowledged 10 ms
        // after, slice 2 never acknowledged.
        long[] sent = {1, 3400 * ms, 6000 * ms};
        long[] done = {5 * ms, 3410 * ms, -1};
        long end = 9000 * ms;
        long guard = 750 * ms;
        long tail = 100 * ms;
        assertThat(InterleavedPolicies.countingNanos(0, sent, done, end, guard, tail)).isEqualTo((3300 - 755) * ms);
        assertThat(InterleavedPolicies.countingNanos(1, sent, done, end, guard, tail)).isEqualTo((5900 - 4160) * ms);
        assertThat(InterleavedPolicies.countingNanos(2, sent, done, end, guard, tail)).isZero();
        // The span is exactly where sliceInForce counts: one arrival a millisecond lands span/1 ms times in the slice.
        long[] notYet = {1, 3000 * ms, 0};
        long[] notYetDone = {5 * ms, 3080 * ms, -1};
        for (long[][] c : new long[][][] {{sent, done}, {notYet, notYetDone}}) {
            long[] counted = new long[3];
            for (long t = 0; t < end; t += ms) {
                int k = InterleavedPolicies.sliceInForce(t, c[0], c[1], end, guard, tail);
                if (k >= 0) {
                    counted[k]++;
                }
            }
            for (int k = 0; k < 3; k++) {
                assertThat(counted[k] * ms).as("slice %d", k)
                        .isEqualTo(InterleavedPolicies.countingNanos(k, c[0], c[1], end, guard, tail));
            }
        }
        assertThat(InterleavedPolicies.countingNanos(2, notYet, notYetDone, end, guard, tail)).as("never sent").isZero();
    }

    @Test
    void aRoundRobinPolicysGoodputIsItsAnswersOverItsSlicesRealCountingSpans() {
        long ms = 1_000_000L;
        var rr = new PolicySweepSimulation.RoundRobin(1000, List.of("a", "b", "a", "b"), List.of("a", "b"));
        rr.startNanos.set(1);
        long span = rr.spanStart();
        long slice = PolicySweepSimulation.SLICE_MS * ms;
        // Slice 0 was switched to before the warm-up; the others at their boundaries, acknowledged 30, 400 and 10 ms
        // after (a loaded gateway answers the admin PUT late: a late acknowledgement shortens that slice).
        long[] ackAfter = {5 * ms, 30 * ms, 400 * ms, 10 * ms};
        for (int k = 0; k < 4; k++) {
            rr.switchSent[k] = k == 0 ? 1 : span + k * slice;
            rr.switchDone[k] = rr.switchSent[k] + ackAfter[k];
        }
        // One arrival a millisecond over the whole measured span, every one answered 200: 1000 answers a second.
        for (long t = span; t < rr.spanEnd(); t += ms) {
            rr.raw.add(200, 1, 1, t);
        }
        rr.finish();
        long full = (PolicySweepSimulation.SLICE_MS - PolicySweepSimulation.GUARD_MS - PolicySweepSimulation.TAIL_MS) * ms;
        PolicySweepSimulation.Step a = rr.steps.get("a");
        PolicySweepSimulation.Step b = rr.steps.get("b");
        assertThat(a.measureSeconds()).isEqualTo((2 * full - 400 * ms) / 1e9);
        assertThat(b.measureSeconds()).isEqualTo((2 * full - 30 * ms - 10 * ms) / 1e9);
        // Answers over the counting span give the offered rate back; over two nominal slices they read 9% low for a.
        assertThat(a.snapshot().size() / a.measureSeconds()).isCloseTo(1000, offset(1.0));
        assertThat(b.snapshot().size() / b.measureSeconds()).isCloseTo(1000, offset(1.0));
    }

    @Test
    void burstinessCountsArrivalsPerBin() {
        long ms = 1_000_000L;
        // 100 bins of 10 ms with one arrival each, then 7 arrivals in the last bin: p99 is 1, the max 8.
        long[] arrivals = new long[107];
        for (int i = 0; i < 100; i++) {
            arrivals[i] = i * 10 * ms + 3 * ms;
        }
        for (int i = 100; i < 107; i++) {
            arrivals[i] = 993 * ms + i;
        }
        assertThat(InterleavedPolicies.burstiness(arrivals, 10 * ms)).isEqualTo("1/8");
        assertThat(InterleavedPolicies.burstiness(new long[0], 10 * ms)).isEqualTo("-");
    }
}
