package io.weir.gateway.http;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The edge-shedding signal on a hand-driven clock: ticks on time, a late tick, an overdue tick, recovery. */
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
}
