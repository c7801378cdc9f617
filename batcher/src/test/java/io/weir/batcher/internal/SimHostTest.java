package io.weir.batcher.internal;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The simulated host's CPU: shared fairly, in order per thread, stopped by pauses; workers run one at a time. */
class SimHostTest {
    private static final long MS = 1_000_000L;

    @Test
    void runnableThreadsShareTheCoresAndEachRunsItsWorkInOrder() {
        SimHost host = new SimHost(1, 0);
        long start = host.nanos();
        SimHost.CpuThread a = host.thread("a");
        SimHost.CpuThread b = host.thread("b");
        List<String> done = new ArrayList<>();
        a.submit(MS, () -> done.add("a1@" + (host.nanos() - start)));
        a.submit(MS, () -> done.add("a2@" + (host.nanos() - start)));
        b.submit(MS, () -> done.add("b1@" + (host.nanos() - start)));

        host.runUntil(start + 10 * MS);

        // one core, two runnable threads: each at half speed until a's first and b's only piece end together at 2 ms;
        // a's second piece then has the core to itself
        assertThat(done).containsExactly("a1@" + 2 * MS, "b1@" + 2 * MS, "a2@" + 3 * MS);
    }

    @Test
    void aThreadNeverRunsFasterThanOneCore() {
        SimHost host = new SimHost(2, 0);
        long start = host.nanos();
        List<Long> done = new ArrayList<>();
        host.thread("only").submit(MS, () -> done.add(host.nanos() - start));

        host.runUntil(start + 10 * MS);

        assertThat(done).containsExactly(MS);
    }

    @Test
    void aPauseStopsEveryThreadForItsLength() {
        SimHost host = new SimHost(2, 0);
        long start = host.nanos();
        List<Long> done = new ArrayList<>();
        host.thread("t").submit(2 * MS, () -> done.add(host.nanos() - start));
        host.at(start + MS, () -> host.pause(5 * MS));

        host.runUntil(start + 20 * MS);

        assertThat(done).containsExactly(7 * MS);
    }

    @Test
    void theBackgroundTakesItsShareOfTheCores() {
        SimHost host = new SimHost(1, 0.5);
        long start = host.nanos();
        List<Long> done = new ArrayList<>();
        host.thread("t").submit(MS, () -> done.add(host.nanos() - start));

        host.runUntil(start + 10 * MS);

        assertThat(done).containsExactly(2 * MS);
    }

    @Test
    void aWorkerTaskComputesOnItsOwnThreadAndResumesAtTheEndOfItsCompute() throws Exception {
        SimHost host = new SimHost(2, 0);
        long start = host.nanos();
        List<String> seen = new ArrayList<>();
        SimHost.Workers[] pool = new SimHost.Workers[1];
        pool[0] = host.new Workers(1, () -> seen.add("free@" + (host.nanos() - start)), e -> seen.add("failed " + e));
        try {
            for (int i = 0; i < 2; i++) {
                int task = i;
                pool[0].execute(() -> {
                    seen.add("start" + task + "@" + (host.nanos() - start));
                    pool[0].compute(3 * MS);
                    seen.add("end" + task + "@" + (host.nanos() - start));
                });
            }

            host.runUntil(start + 20 * MS);

            // one worker: the second task waits for the first, as a batch waits for a free worker
            assertThat(seen).containsExactly("start0@0", "end0@" + 3 * MS, "free@" + 3 * MS,
                    "start1@" + 3 * MS, "end1@" + 6 * MS, "free@" + 6 * MS);
            assertThat(pool[0].onWorker()).isFalse();
        } finally {
            pool[0].close();
        }
    }

    @Test
    void closingThePoolEndsAWorkerStoppedInsideItsCompute() {
        SimHost host = new SimHost(1, 0);
        Thread[] worker = new Thread[1];
        List<String> failures = new ArrayList<>();
        SimHost.Workers pool = host.new Workers(1, () -> { }, e -> failures.add(e.toString()));
        pool.execute(() -> {
            worker[0] = Thread.currentThread();
            pool.compute(10 * MS);
        });
        host.runUntil(host.nanos() + MS);   // the batch is computing when the simulation ends

        pool.close();

        assertThat(worker[0]).isNotNull();
        assertThat(worker[0].isAlive()).as("the worker's thread outlives its simulation").isFalse();
        assertThat(failures).isEmpty();
    }
}
