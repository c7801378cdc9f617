package io.weir.router.internal;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A follower's window handed to the leader: what the leader judges after absorbing it is what one window that saw
 * both replicas' traffic would hold (counts, errors, the p95 from the merged histograms, score bins, shadow
 * comparisons), whatever the traffic (seeded).
 */
class WindowPoolingTest {
    private static void fill(WindowStats w, Random rnd, int requests) {
        for (int i = 0; i < requests; i++) {
            WindowStats.Arm arm = rnd.nextBoolean() ? w.primary : w.canary;
            boolean error = rnd.nextInt(20) == 0;
            arm.record((1 + rnd.nextInt(200)) * 1_000_000L, error, new float[] {rnd.nextFloat()});
        }
        for (int i = 0; i < requests / 10; i++) {
            w.shadow.comparisons.increment();
            w.shadow.rows.add(3);
            w.shadow.absDiffSum.add(rnd.nextDouble() * 0.1);
            w.shadow.labelRows.add(3);
            w.shadow.labelAgreements.add(rnd.nextInt(4));
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 7, 42, 1234})
    void absorbingAFollowersWindowEqualsOneWindowThatSawBoth(long seed) {
        WindowStats leader = new WindowStats("1.0.0", "1.1.0", "1.1.0");
        WindowStats follower = new WindowStats("1.0.0", "1.1.0", "1.1.0");
        WindowStats both = new WindowStats("1.0.0", "1.1.0", "1.1.0");
        fill(leader, new Random(seed), 500);
        fill(both, new Random(seed), 500);
        fill(follower, new Random(seed + 1), 800);
        fill(both, new Random(seed + 1), 800);

        // through JSON text, as it travels between replicas
        JsonObject wire = new JsonObject(follower.export().encode());
        long absorbed = leader.absorb(wire);

        WindowStats.Snapshot got = leader.snapshot();
        WindowStats.Snapshot want = both.snapshot();
        assertThat(absorbed).isEqualTo(follower.canary.requests.sum() + follower.shadow.comparisons.sum());
        for (WindowStats.ArmSnapshot[] arms : new WindowStats.ArmSnapshot[][] {{got.primary(), want.primary()}, {got.canary(), want.canary()}}) {
            assertThat(arms[0].requests()).isEqualTo(arms[1].requests());
            assertThat(arms[0].errors()).isEqualTo(arms[1].errors());
            assertThat(arms[0].latencySamples()).isEqualTo(arms[1].latencySamples());
            assertThat(arms[0].p95Ms()).isEqualTo(arms[1].p95Ms());
            assertThat(arms[0].scoreBins()).isEqualTo(arms[1].scoreBins());
        }
        assertThat(got.shadow().comparisons()).isEqualTo(want.shadow().comparisons());
        assertThat(got.shadow().labelAgreements()).isEqualTo(want.shadow().labelAgreements());
        assertThat(got.shadow().meanAbsDiff()).isCloseTo(want.shadow().meanAbsDiff(), org.assertj.core.data.Offset.offset(1e-12));
    }

    @org.junit.jupiter.api.Test
    void partsForOtherVersionsAreDroppedAndGarbageIsRefused() {
        WindowStats leader = new WindowStats("1.0.0", "1.2.0", "1.1.0");
        WindowStats stale = new WindowStats("1.0.0", "1.1.0", "1.1.0");
        fill(stale, new Random(3), 300);
        long absorbed = leader.absorb(stale.export());
        assertThat(leader.canary.requests.sum()).as("another canary's requests").isZero();
        assertThat(leader.primary.requests.sum()).as("its primary arm compared against another canary").isZero();
        assertThat(absorbed).isEqualTo(stale.shadow.comparisons.sum()).isPositive();

        WindowStats fine = new WindowStats("1.0.0", "1.2.0", "1.1.0");
        fill(fine, new Random(4), 100);
        JsonObject broken = fine.export();
        broken.getJsonObject("canary").remove("latency_us_hdr"); // the primary arm is whole, the canary's is not
        long before = leader.primary.requests.sum();
        assertThatThrownBy(() -> leader.absorb(broken)).isInstanceOf(IllegalArgumentException.class);
        assertThat(leader.primary.requests.sum()).as("nothing of a malformed export is added").isEqualTo(before);
    }
}
