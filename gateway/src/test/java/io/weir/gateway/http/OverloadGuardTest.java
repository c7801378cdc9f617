package io.weir.gateway.http;

import org.junit.jupiter.api.Test;

import javax.management.ObjectName;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The edge-shedding signal on a hand-driven clock: ticks on time, a late tick, an overdue tick, recovery; and a GC
 * pause, whose time is subtracted from the lag up to twice the threshold.
 */
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
    void aLagThatAGcPauseExplainsIsForgivenUpToTwiceTheThreshold() {
        AtomicLong gc = new AtomicLong(7 * MS);   // GC time before the guard started: not this guard's business
        OverloadGuard guard = new OverloadGuard(5 * MS, 0, gc::get);
        OverloadGuard blind = new OverloadGuard(5 * MS, 0);
        long t = 5 * MS;
        guard.tick(t);
        blind.tick(t);
        // A 35 ms pause: the loop's next tick is 35 ms overdue when the first request after the pause is read.
        gc.addAndGet(35 * MS);
        long read = t + 5 * MS + 35 * MS;
        assertThat(blind.overloaded(read, 28 * MS)).isTrue();
        assertThat(guard.lagNanos(read)).as("measured as is").isEqualTo(35 * MS);
        assertThat(guard.overloaded(read, 28 * MS)).as("the pause explains it").isFalse();
        // The tick runs 36 ms late: 1 ms of it is the backlog, not the pause.
        t = read + MS;
        guard.tick(t);
        assertThat(guard.overloaded(t + MS, 28 * MS)).isFalse();
        // Under load the backlog outlasts the pause: the next tick is 30 ms late with no GC in between.
        t += 5 * MS + 30 * MS;
        guard.tick(t);
        assertThat(guard.overloaded(t + MS, 28 * MS)).isTrue();
        // A pause past twice the threshold sheds whatever the cause: those requests spent most of their budget unread.
        t += 5 * MS;
        guard.tick(t);
        gc.addAndGet(60 * MS);
        assertThat(guard.overloaded(t + 5 * MS + 57 * MS, 28 * MS)).isTrue();
        // A pause that explains only part of a lag forgives only that part.
        t += 5 * MS + 60 * MS;
        guard.tick(t);
        t += 5 * MS;
        guard.tick(t);
        gc.addAndGet(10 * MS);
        assertThat(guard.overloaded(t + 5 * MS + 37 * MS, 28 * MS)).as("27 ms unexplained").isFalse();
        assertThat(guard.overloaded(t + 5 * MS + 39 * MS, 28 * MS)).as("29 ms unexplained").isTrue();
    }

    @Test
    void gcTimeCountsPausesAndLeavesConcurrentCyclesOut() {
        GcPauses zgc = new GcPauses(List.of(collector("ZGC Cycles", 480), collector("ZGC Pauses", 3)));
        assertThat(zgc.getAsLong()).isEqualTo(3 * MS);
        GcPauses g1 = new GcPauses(List.of(collector("G1 Young Generation", 120), collector("G1 Concurrent GC", 9),
                collector("G1 Old Generation", -1)));
        assertThat(g1.getAsLong()).as("Remark and Cleanup pauses count; an unreported time counts 0").isEqualTo(129 * MS);
        // This JVM's own collectors: a full collection is a pause under each of them, and the count never goes down.
        GcPauses here = new GcPauses();
        long before = here.getAsLong();
        long collections = ManagementFactory.getGarbageCollectorMXBeans().stream()
                .mapToLong(GarbageCollectorMXBean::getCollectionCount).sum();
        System.gc();
        assertThat(ManagementFactory.getGarbageCollectorMXBeans().stream()
                .mapToLong(GarbageCollectorMXBean::getCollectionCount).sum()).isGreaterThan(collections);
        assertThat(here.getAsLong()).isGreaterThanOrEqualTo(before);
    }

    private static GarbageCollectorMXBean collector(String name, long timeMillis) {
        return new GarbageCollectorMXBean() {
            @Override public long getCollectionCount() { return 1; }
            @Override public long getCollectionTime() { return timeMillis; }
            @Override public String getName() { return name; }
            @Override public boolean isValid() { return true; }
            @Override public String[] getMemoryPoolNames() { return new String[0]; }
            @Override public ObjectName getObjectName() { return null; }
        };
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
