package io.weir.gateway.http;

import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * The process's stop-the-world garbage-collection time so far, in nanoseconds (millisecond resolution): what the edge
 * guard subtracts from a late timer to tell a GC pause from load ({@link OverloadGuard}).
 *
 * <p>Each collector's {@code getCollectionTime()} is updated at the end of its pause, before application threads run
 * again, so a timer that fires late because of a pause already sees it. Beans named "... Cycles" (ZGC, Shenandoah)
 * count concurrent cycles, during which the application runs, and are left out; G1's "G1 Concurrent GC" counts the
 * Remark and Cleanup pauses of a concurrent cycle and stays in. A collector that reports no time counts 0, so the
 * guard then forgives nothing.
 */
final class GcPauses implements LongSupplier {
    private final List<GarbageCollectorMXBean> collectors;

    GcPauses() {
        this(ManagementFactory.getGarbageCollectorMXBeans());
    }

    GcPauses(List<GarbageCollectorMXBean> all) {
        this.collectors = all.stream().filter(b -> !b.getName().endsWith("Cycles")).toList();
    }

    @Override
    public long getAsLong() {
        long ms = 0;
        for (GarbageCollectorMXBean b : collectors) {
            ms += Math.max(0, b.getCollectionTime());
        }
        return ms * 1_000_000L;
    }
}
