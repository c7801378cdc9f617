package io.weir.gateway.http;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The edge-shedding signal on a hand-driven clock: ticks on time, a late tick, an overdue tick, recovery, the ramp. */
class OverloadGuardTest {
    private static final long MS = 1_000_000L;

    @Test
    void shedsOnlyWhileTheLoopRunsItsTimerLateAndRecoversAtTheNextTimelyTick() {
        OverloadGuard guard = new OverloadGuard(5 * MS, 0);
        long t = 0;
        for (int i = 0; i < 10; i++) {
            t += 5 * MS + MS / 2; // half a millisecond late each time: normal jitter
            guard.tick(t);
            assertThat(guard.overloaded(t + MS, 25 * MS)).isFalse();
        }
        assertThat(guard.lagNanos(t)).isEqualTo(MS / 2);
        // The loop is stuck: before its tick runs, an overdue tick is lag already.
        assertThat(guard.overloaded(t + 5 * MS + 25 * MS, 25 * MS)).isFalse();
        assertThat(guard.overloaded(t + 5 * MS + 26 * MS, 25 * MS)).isTrue();
        // The tick finally runs 40 ms late; requests read right after it are still shed...
        t += 45 * MS;
        guard.tick(t);
        assertThat(guard.lagNanos(t)).isEqualTo(40 * MS);
        assertThat(guard.overloaded(t + MS, 25 * MS)).isTrue();
        // ...until the next tick comes on time.
        t += 5 * MS;
        guard.tick(t);
        assertThat(guard.overloaded(t, 25 * MS)).isFalse();
    }

    @Test
    void aZeroThresholdMeasuresButNeverSheds() {
        OverloadGuard guard = new OverloadGuard(5 * MS, 0);
        guard.tick(1_000 * MS);
        assertThat(guard.lagNanos(1_000 * MS)).isEqualTo(995 * MS);
        assertThat(guard.overloaded(1_000 * MS, 0)).isFalse();
        assertThat(guard.overloaded(1_000 * MS, 990 * MS)).isTrue();
        assertThatThrownBy(() -> new OverloadGuard(0, 0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aRampShedsTheShareTheLagHasClimbedAndEverythingPastIt() {
        OverloadGuard guard = new OverloadGuard(5 * MS, 0);
        guard.tick(5 * MS);
        // Stuck: the next tick was due at 10 ms. Threshold 20 ms, ramp 20 ms.
        long quarter = 10 * MS + 25 * MS;      // lag 25: a quarter of the way up the ramp
        assertThat(guard.shed(quarter, 20 * MS, 20 * MS, 0.24)).isTrue();
        assertThat(guard.shed(quarter, 20 * MS, 20 * MS, 0.26)).isFalse();
        long half = 10 * MS + 30 * MS;         // lag 30: half
        assertThat(guard.shed(half, 20 * MS, 20 * MS, 0.49)).isTrue();
        assertThat(guard.shed(half, 20 * MS, 20 * MS, 0.51)).isFalse();
        // Within the threshold never, at the top of the ramp and past it always, without a ramp always past the threshold.
        assertThat(guard.shed(10 * MS + 20 * MS, 20 * MS, 20 * MS, 0)).isFalse();
        assertThat(guard.shed(10 * MS + 40 * MS, 20 * MS, 20 * MS, 0.999)).isTrue();
        assertThat(guard.shed(10 * MS + 21 * MS, 20 * MS, 0, 0.999)).isTrue();
        assertThat(guard.shed(10 * MS + 21 * MS, 0, 20 * MS, 0)).isFalse();
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 42, 2026})
    void overManyRequestsTheShareShedFollowsTheLag(long seed) {
        OverloadGuard guard = new OverloadGuard(5 * MS, 0);
        guard.tick(5 * MS);
        SplittableRandom random = new SplittableRandom(seed);
        int shed = 0;
        for (int i = 0; i < 10_000; i++) {
            shed += guard.shed(10 * MS + 35 * MS, 20 * MS, 20 * MS, random.nextDouble()) ? 1 : 0;   // 75% up the ramp
        }
        assertThat(shed).isBetween(7_300, 7_700);
    }
}
