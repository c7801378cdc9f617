package io.weir.perf.gatling;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.ArrayList;
import java.util.List;

/**
 * A measure of how fast the machine is right now, for telling a slow spell of the shared VM from a policy's effect.
 * Once a second it times one fixed piece of work (dependent pseudo-random reads over a 256 KiB array, so it lives in
 * the core's caches like the request path's hot data) in its own thread's CPU time, which does not count time spent
 * waiting for a core. The sweep reports the median over each measured window ({@code canary_ms}).
 *
 * <p>Why: on the 2-vCPU development VM the gateway and the load generator sometimes need 1.5-2.5x their usual CPU per
 * request for minutes at a time, across consecutive gateways and policies, and such a window sheds at 50-75% of
 * capacity whatever the policy (docs/PERF.md, "Slow spells of the machine"). A C version of this loop read 10-30%
 * slower during such a spell, so a window whose canary is well above its run's usual reading was measured on a slower
 * machine. It costs about 0.5% of one core.
 *
 * <p>Threads: one daemon thread ("weir-sweep-canary") writes samples; {@link #medianMillis} reads them under the
 * monitor from whichever thread writes the CSV.
 */
final class MachineCanary {
    private static final int SIZE = 1 << 16;      // ints: 256 KiB
    private static final int ROUNDS = 20;
    private static final long PERIOD_MILLIS = 1000;

    private final int[] data = new int[SIZE];
    private final List<long[]> samples = new ArrayList<>();   // {wall nanos at the end, thread CPU nanos of one work unit}
    private final ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    private volatile int sink;

    private MachineCanary() {
        for (int i = 0; i < SIZE; i++) {
            data[i] = i * 0x9E3779B1;
        }
    }

    /** Starts the sampling thread; samples are kept for the life of the JVM (one per second). */
    static MachineCanary start() {
        MachineCanary canary = new MachineCanary();
        Thread t = new Thread(canary::loop, "weir-sweep-canary");
        t.setDaemon(true);
        t.start();
        return canary;
    }

    private void loop() {
        try {
            while (!Thread.currentThread().isInterrupted()) {
                long cpu0 = threads.getCurrentThreadCpuTime();
                sink += work();
                long cpu = threads.getCurrentThreadCpuTime() - cpu0;
                synchronized (this) {
                    samples.add(new long[] {System.nanoTime(), cpu});
                }
                Thread.sleep(PERIOD_MILLIS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The fixed work: each read's index depends on the previous value, so neither the CPU nor the JIT can skip ahead. */
    int work() {
        int x = 1;
        for (int r = 0; r < ROUNDS; r++) {
            for (int i = 0; i < SIZE; i++) {
                x ^= data[(i * 7 + x) & (SIZE - 1)];
                x = x * 1103515245 + 12345;
            }
        }
        return x;
    }

    /** Median CPU ms of the work units that ended within [fromNanos, toNanos] (System.nanoTime); NaN when none did. */
    synchronized double medianMillis(long fromNanos, long toNanos) {
        long[] inWindow = samples.stream().filter(s -> s[0] >= fromNanos && s[0] <= toNanos).mapToLong(s -> s[1]).sorted().toArray();
        return inWindow.length == 0 ? Double.NaN : inWindow[inWindow.length / 2] / 1e6;
    }
}
