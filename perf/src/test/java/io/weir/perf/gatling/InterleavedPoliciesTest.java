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
