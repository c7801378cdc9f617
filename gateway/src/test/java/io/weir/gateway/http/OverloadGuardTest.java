package io.weir.gateway.http;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The edge-shedding signal on a hand-driven clock: ticks on time, one late tick, late ticks, an overdue tick. */
class OverloadGuardTest {
    private static final long MS = 1_000_000L;
    private static final long T = 25 * MS;

    @Test
    void shedsWhileTheLoopIsLateTickAfterTickButNotAfterOnePause() {
        OverloadGuard guard = new OverloadGuard(5 * MS, 0);
        long t = 0;
        for (int i = 0; i < 10; i++) {
            t += 5 * MS + MS / 2; // half a millisecond late each time: normal jitter
            guard.tick(t);
            assertThat(guard.overloaded(t + MS, T)).isFalse();
        }
        assertThat(guard.lagNanos(t)).isBetween(MS / 4, MS / 2);
        // One pause (a GC, say): the tick runs 40 ms late; the loop is back on time right after. Not shed.
        t += 45 * MS;
        guard.tick(t);
        assertThat(guard.overloaded(t + MS, T)).isFalse();
        // Late again: now it is saturation, and requests are shed...
        t += 45 * MS;
        guard.tick(t);
        assertThat(guard.overloaded(t + MS, T)).isTrue();
        // ...until the ticks come on time again.
        t += 5 * MS;
        guard.tick(t);
        assertThat(guard.overloaded(t, T)).isFalse();
    }

    @Test
    void aLoopStuckBehindItsReadsShedsBeforeItsTickRuns() {
        OverloadGuard guard = new OverloadGuard(5 * MS, 0);
        guard.tick(5 * MS);
        long due = 10 * MS;
        assertThat(guard.overloaded(due + 2 * T, T)).isFalse();
        assertThat(guard.overloaded(due + 2 * T + 1, T)).isTrue();
        assertThat(guard.lagNanos(due + 2 * T + 1)).isEqualTo(2 * T + 1);
    }

    @Test
    void aZeroThresholdMeasuresButNeverSheds() {
        OverloadGuard guard = new OverloadGuard(5 * MS, 0);
        guard.tick(1_000 * MS);
        assertThat(guard.lagNanos(1_000 * MS)).isEqualTo(995 * MS / 2);
        assertThat(guard.overloaded(1_000 * MS, 0)).isFalse();
        assertThat(guard.overloaded(1_000 * MS, 490 * MS)).isTrue();
        assertThatThrownBy(() -> new OverloadGuard(0, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
