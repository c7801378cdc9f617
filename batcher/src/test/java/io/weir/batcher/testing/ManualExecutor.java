package io.weir.batcher.testing;

import java.util.ArrayDeque;
import java.util.Queue;
import java.util.concurrent.Executor;

/** An executor whose tasks run only when the test says so, on the test's thread. */
public final class ManualExecutor implements Executor {
    private final Queue<Runnable> tasks = new ArrayDeque<>();

    @Override
    public synchronized void execute(Runnable command) {
        tasks.add(command);
    }

    public synchronized int queued() {
        return tasks.size();
    }

    /** Runs the oldest task; false when none. */
    public boolean runOne() {
        Runnable r;
        synchronized (this) {
            r = tasks.poll();
        }
        if (r == null) {
            return false;
        }
        r.run();
        return true;
    }

    /** Runs tasks (including those queued by the tasks) until none is left. */
    public int runAll() {
        int n = 0;
        while (runOne()) {
            n++;
        }
        return n;
    }
}
