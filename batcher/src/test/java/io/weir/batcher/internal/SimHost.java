package io.weir.batcher.internal;

import io.weir.runtime.Ticker;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.Semaphore;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * The simulated gateway host of {@link PolicySimulation}: a clock, an event queue and a few CPU cores shared by
 * simulated threads (event loops, the batching thread, inference workers), with nothing left to chance but the seeded
 * draws the scenario makes.
 *
 * <p>Design note. A discrete-event simulation on one thread, the caller of {@link #runUntil}: events run in time
 * order (ties in the order they were scheduled) and the clock ({@link #nanos()}, the lane's {@link Ticker}) jumps from
 * one to the next. CPU: every {@link CpuThread} with work queued is runnable and the cores are shared equally among
 * the runnable threads (processor sharing, each at most one core), so a thread's work of {@code w} CPU nanoseconds
 * takes {@code w} when the cores are free and longer when more threads than cores are runnable: the way the HTTP path
 * and the inference workers slow each other down on a CPU gateway. The inference workers run the real
 * {@code BatchRunner} code on real Java threads ({@link Workers}), but only one thread ever runs at a time: a worker
 * runs only while the simulation thread waits for it (a baton passed through two semaphores, which also orders their
 * memory), and it hands the baton back when its backend's call begins computing ({@link Workers#compute}) or its task
 * ends. Its compute is work on its own CpuThread; when that completes, the simulation hands the baton back to it at
 * the completion time, so {@code BatchRunner} reads its start and end times off the clock as it does on a real host.
 *
 * <p>The CPU load the adaptive policy reads is sampled as the real sampler ({@code HostCpuLoad}) does: the share of
 * the cores busy over each 100 ms, smoothed with weight 0.2.
 */
final class SimHost implements Ticker {
    private static final double DONE_EPSILON = 0.5;
    private static final long LOAD_SAMPLE_NANOS = 100_000_000L;
    private static final double LOAD_SAMPLE_WEIGHT = 0.2;

    private record Event(long at, long order, Runnable action) {
    }

    private static final class Work {
        double remaining;
        final Runnable done;

        Work(double cpuNanos, Runnable done) {
            this.remaining = Math.max(0, cpuNanos);
            this.done = done;
        }
    }

    private final double cores;
    private final double backgroundCores;
    private final PriorityQueue<Event> events = new PriorityQueue<>((x, y) -> x.at != y.at
            ? Long.compare(x.at, y.at) : Long.compare(x.order, y.order));
    private final List<CpuThread> threads = new ArrayList<>();
    private long now = 1_000_000_000L;
    private long order;
    private long settledAt = now;
    private long cpuGeneration;
    private long pausedUntil = Long.MIN_VALUE;
    private double pausedCoreNanos;
    private double busyCoreNanos;
    private double busyAtLastSample;
    private double load;
    private boolean sampling;

    /**
     * @param cores           the cores the gateway's threads share
     * @param backgroundCores of those, what the JVM's own threads (GC, JIT) keep busy on average: taken from every
     *                        simulated thread's share, and counted in the CPU load
     */
    SimHost(double cores, double backgroundCores) {
        if (!(cores > 0) || backgroundCores < 0 || backgroundCores >= cores) {
            throw new IllegalArgumentException("cores must be positive and the background below them");
        }
        this.cores = cores;
        this.backgroundCores = backgroundCores;
    }

    @Override
    public long nanos() {
        return now;
    }

    /** Runs {@code action} at {@code at} (now if that has passed), after everything already scheduled for then. */
    void at(long at, Runnable action) {
        events.add(new Event(Math.max(at, now), order++, action));
    }

    /** Runs events until none is due by {@code end}; the clock then reads {@code end}. */
    void runUntil(long end) {
        runWhile(() -> true, end);
    }

    /** Runs events while {@code more} says so (checked before each), up to {@code limit}; false when it hit the limit. */
    boolean runWhile(BooleanSupplier more, long limit) {
        while (more.getAsBoolean()) {
            if (events.isEmpty() || events.peek().at > limit) {
                now = Math.max(now, limit);
                return false;
            }
            Event e = events.poll();
            now = e.at;
            e.action.run();
        }
        return true;
    }

    /** The smoothed share of the cores in use, as the adaptive policy reads it (0 until the first sample). */
    double cpuLoad() {
        return load;
    }

    /**
     * Stops every simulated thread for {@code nanos} (a stop-the-world GC pause): no work progresses, the cores count
     * as busy (the collector's threads use them), events still come (arrivals queue on the loops, timers fire late).
     */
    void pause(long nanos) {
        settle();
        long until = Math.max(pausedUntil, now) + nanos;
        pausedCoreNanos += (until - Math.max(pausedUntil, now)) * cores;
        pausedUntil = until;
        cpuGeneration++; // completions scheduled before the pause are late now
        at(until, () -> {
            settle();
            reschedule();
        });
    }

    /** Starts sampling the CPU load every 100 ms. */
    void startLoadSampling() {
        if (!sampling) {
            sampling = true;
            at(now + LOAD_SAMPLE_NANOS, this::sampleLoad);
        }
    }

    private void sampleLoad() {
        settle();
        double busy = busyCoreNanos + pausedCoreNanos - busyAtLastSample;
        busyAtLastSample = busyCoreNanos + pausedCoreNanos;
        double sample = Math.min(1, (busy + backgroundCores * LOAD_SAMPLE_NANOS) / (cores * LOAD_SAMPLE_NANOS));
        load += LOAD_SAMPLE_WEIGHT * (sample - load);
        at(now + LOAD_SAMPLE_NANOS, this::sampleLoad);
    }

    CpuThread thread(String name) {
        CpuThread t = new CpuThread(name);
        threads.add(t);
        return t;
    }

    /** A simulated thread: runs its queued work in order, one piece at a time, at its share of the cores. */
    final class CpuThread {
        final String name;
        private final ArrayDeque<Work> queue = new ArrayDeque<>();

        private CpuThread(String name) {
            this.name = name;
        }

        /** Queues {@code cpuNanos} of work; {@code done} runs (on the simulation thread) when it is computed. */
        void submit(double cpuNanos, Runnable done) {
            settle();
            queue.addLast(new Work(cpuNanos, done));
            reschedule();
        }

        /**
         * Queues work ahead of everything else, for the moment the work now finishing hands over to it: one task of
         * an event loop that decides, once it runs, what the rest of it costs (a request shed at the edge or parsed).
         */
        void submitFirst(double cpuNanos, Runnable done) {
            settle();
            queue.addFirst(new Work(cpuNanos, done));
            reschedule();
        }

        /** No work queued: the thread is parked. */
        boolean idle() {
            return queue.isEmpty();
        }

        @Override
        public String toString() {
            return name;
        }
    }

    private int runnable() {
        int n = 0;
        for (CpuThread t : threads) {
            if (!t.queue.isEmpty()) {
                n++;
            }
        }
        return n;
    }

    private double rate(int runnable) {
        return Math.min(1, (cores - backgroundCores) / runnable);
    }

    /** Advances every runnable thread's current work by its share of the cores since the last settlement. */
    private void settle() {
        long dt = now - Math.max(settledAt, pausedUntil);
        settledAt = now;
        if (dt <= 0) {
            return;
        }
        int n = runnable();
        if (n == 0) {
            return;
        }
        double rate = rate(n);
        for (CpuThread t : threads) {
            if (!t.queue.isEmpty()) {
                t.queue.peekFirst().remaining -= dt * rate;
            }
        }
        busyCoreNanos += dt * rate * n;
    }

    /** Schedules the next completion of work; an earlier schedule is void (its generation is old). */
    private void reschedule() {
        int n = runnable();
        if (n == 0 || now < pausedUntil) {
            return; // nothing to run, or the pause's end reschedules
        }
        double rate = rate(n);
        double soonest = Double.MAX_VALUE;
        for (CpuThread t : threads) {
            if (!t.queue.isEmpty()) {
                soonest = Math.min(soonest, Math.max(0, t.queue.peekFirst().remaining) / rate);
            }
        }
        long generation = ++cpuGeneration;
        at(now + (long) Math.ceil(soonest), () -> {
            if (generation == cpuGeneration) {
                completeDue();
            }
        });
    }

    private void completeDue() {
        settle();
        List<Runnable> done = new ArrayList<>();
        for (CpuThread t : threads) {
            if (!t.queue.isEmpty() && t.queue.peekFirst().remaining <= DONE_EPSILON) {
                done.add(t.queue.pollFirst().done);
            }
        }
        reschedule();
        done.forEach(Runnable::run);
    }

    /**
     * The inference worker pool: an {@link Executor} whose tasks (the lane's batches) run on real Java threads, one at
     * a time, under the simulation's control (the class's design note). {@link #compute} is what a simulated
     * backend's call does on such a thread.
     */
    final class Workers implements Executor, AutoCloseable {
        private final ArrayDeque<Runnable> tasks = new ArrayDeque<>();
        private final List<Worker> workers = new ArrayList<>();
        private final Semaphore back = new Semaphore(0);
        private final Consumer<Throwable> onFailure;
        private final Runnable afterTask;
        private long submitted;
        private volatile boolean closed;

        /**
         * @param afterTask runs on the simulation thread after each task ended (a worker is free: the batching thread
         *                  is poked)
         * @param onFailure gets what a task threw (the simulation stops on it)
         */
        Workers(int n, Runnable afterTask, Consumer<Throwable> onFailure) {
            this.afterTask = afterTask;
            this.onFailure = onFailure;
            for (int i = 0; i < n; i++) {
                workers.add(new Worker(i));
            }
        }

        @Override
        public void execute(Runnable task) {
            submitted++;
            tasks.addLast(task);
            at(now, this::dispatch);
        }

        private void dispatch() {
            for (Worker w : workers) {
                if (w.task == null && !tasks.isEmpty()) {
                    w.task = tasks.pollFirst();
                    w.resume();
                }
            }
        }

        /** Tasks handed to the pool so far. */
        long submitted() {
            return submitted;
        }

        /** Whether the calling thread is one of these workers. */
        boolean onWorker() {
            return current() != null;
        }

        private Worker current() {
            for (Worker candidate : workers) {
                if (candidate.thread == Thread.currentThread()) {
                    return candidate;
                }
            }
            return null;
        }

        /** On a worker's thread, inside its task: computes {@code cpuNanos} on the worker's simulated thread. */
        void compute(double cpuNanos) {
            Worker self = current();
            if (self == null) {
                throw new IllegalStateException("compute outside a simulated worker: " + Thread.currentThread());
            }
            self.cpu.submit(cpuNanos, self::resume);
            back.release();
            self.go.acquireUninterruptibly();
            if (closed) {
                throw Stopped.INSTANCE; // the simulation ended with this batch still computing: unwind, do not answer
            }
        }

        /**
         * Ends every worker's thread, also those stopped inside {@link #compute} (batches of requests that arrived after
         * the measured window): each is let go once more and unwinds, so no thread outlives its simulation.
         */
        @Override
        public void close() {
            closed = true;
            for (Worker w : workers) {
                w.go.release();
            }
            for (Worker w : workers) {
                try {
                    w.thread.join(10_000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }

        /** Thrown out of {@link #compute} after {@link #close()}: unwinds the task; not counted as a failure. */
        private static final class Stopped extends RuntimeException {
            static final Stopped INSTANCE = new Stopped();

            private Stopped() {
                super("simulation closed", null, false, false);
            }
        }

        private final class Worker {
            final CpuThread cpu;
            final Semaphore go = new Semaphore(0);
            final Thread thread;
            Runnable task;

            Worker(int i) {
                cpu = thread("worker-" + i);
                thread = Thread.ofVirtual().name("sim-worker-" + i).unstarted(this::loop);
                thread.start();
            }

            private void loop() {
                while (true) {
                    go.acquireUninterruptibly();
                    if (closed) {
                        return;
                    }
                    try {
                        task.run();
                    } catch (Throwable t) {
                        if (!closed) {
                            onFailure.accept(t);
                        }
                    }
                    if (closed) {
                        // unwound out of compute (BatchRunner answers such a batch as failed): nobody waits for it
                        return;
                    }
                    task = null;
                    back.release();
                }
            }

            /** Simulation thread: lets this worker run until it computes or its task ends. */
            void resume() {
                go.release();
                back.acquireUninterruptibly();
                if (task == null) {
                    afterTask.run();
                    dispatch();
                }
            }
        }
    }
}
