package io.weir.batcher.internal;

import com.lmax.disruptor.AlertException;
import com.lmax.disruptor.Sequence;
import com.lmax.disruptor.SequenceBarrier;
import com.lmax.disruptor.TimeoutException;
import com.lmax.disruptor.WaitStrategy;
import io.weir.batcher.BatchingOptions.WaitMode;
import io.weir.runtime.Ticker;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The batching thread's wait strategy: waits for the next request like Disruptor's own strategies, and also wakes
 * the thread (with {@link TimeoutException}, which the processor turns into {@code onTimeout}) when the batch former's
 * flush timer expires or a worker finished a batch ({@link #poke()}). Disruptor's timeout strategies only know a
 * fixed timeout; a batcher needs "wake me at the oldest request's flush time", which changes with every decision.
 *
 * <p>Why BLOCKING is the default: measured with {@code BatcherBenchmark} (perf, {@code -Pjmh}; bursts of 64 one-row
 * requests, no-op backend, 2 CPU workers) on the shared 2-core development machine, per request, median of 5
 * iterations: one producer BLOCKING 1.3 µs (steady: ±0.6), PARKING 4.5 µs, YIELDING 5.9 µs, SLEEPING 8.0 µs; two
 * producers BLOCKING 3.5 µs, PARKING 4.2 µs. YIELDING and SLEEPING keep the batching thread runnable; on 2 cores it
 * then competes with the producer and both CPU workers, and with one such thread per model version it would take CPU
 * from the event loops and the inference pool. BLOCKING and PARKING both sleep when idle; BLOCKING's lock per
 * publish was cheaper here than it looks, and PARKING's lock-free hand-off did not pay for its spurious wake-ups.
 * The numbers were taken under heavy load from other builds (load average 7-10), so the error bars are wide; PARKING
 * stays selectable ({@link io.weir.batcher.BatchingOptions#withWaitMode}) for a re-measurement on production cores.
 *
 * <p>Threads: {@link #waitFor} runs only on the batching thread, which also alone writes {@code wakeAtNanos};
 * {@link #signalAllWhenBlocking} runs on producers after every publish and on halt; {@link #poke} on workers.
 * Lost wake-ups are excluded by a Dekker pair: the consumer publishes {@code waiter} and then re-reads the cursor and
 * {@code poked}; a producer advances the cursor (a CAS) before reading {@code waiter}. Parks are capped at 100 ms when
 * no timer is set, as a backstop. While a timer is set, the thread parks until it on the system clock; on an injected
 * clock, which tests jump, it parks in 1 ms slices so the jump is noticed. (It used to park in 1 ms slices on the
 * system clock too: a request held 4 ms then cost four extra thread switches, which on a 2-core VM made the machine
 * busier at 25-50% load than flushing at once; docs/PERF.md, "The CPU-pressure hold at low load". Side by side,
 * exact parking and 1 ms slices collapsed equally often under overload: docs/PERF.md, "After the sweep".)
 */
public final class FlushWaitStrategy implements WaitStrategy {
    public static final long NEVER = Long.MAX_VALUE;
    private static final int SPINS = 200;
    private static final long INJECTED_TIMER_PARK_CAP = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long IDLE_PARK_CAP = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long SLEEP_NANOS = TimeUnit.MICROSECONDS.toNanos(100);

    private final WaitMode mode;
    private final Ticker ticker;
    private final long timerParkCap;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition moved = lock.newCondition();
    private volatile long wakeAtNanos = NEVER;
    private volatile boolean poked;
    private volatile Thread waiter;

    public FlushWaitStrategy(WaitMode mode, Ticker ticker) {
        this.mode = mode;
        this.ticker = ticker;
        this.timerParkCap = ticker == Ticker.SYSTEM ? Long.MAX_VALUE : INJECTED_TIMER_PARK_CAP;
    }

    /** Batching thread only: the next flush time on the ticker, or {@link #NEVER}. */
    void wakeAt(long nanos) {
        wakeAtNanos = nanos;
    }

    long wakeAt() {
        return wakeAtNanos;
    }

    /** Any thread: make the batching thread decide again soon (a worker slot came free). */
    public void poke() {
        poked = true;
        wake();
    }

    @Override
    public long waitFor(long sequence, Sequence cursor, Sequence dependentSequence, SequenceBarrier barrier)
            throws AlertException, InterruptedException, TimeoutException {
        int spins = 0;
        while (cursor.get() < sequence) {
            barrier.checkAlert();
            if (poked) {
                poked = false;
                throw TimeoutException.INSTANCE;
            }
            long wake = wakeAtNanos;
            long remaining = wake == NEVER ? NEVER : wake - ticker.nanos();
            if (remaining <= 0) {
                throw TimeoutException.INSTANCE;
            }
            long cap = Math.min(remaining, wake == NEVER ? IDLE_PARK_CAP : timerParkCap);
            if (spins < SPINS) {
                Thread.onSpinWait();
            } else {
                switch (mode) {
                    case YIELDING -> Thread.yield();
                    case SLEEPING -> {
                        if (spins < 2 * SPINS) {
                            Thread.yield();
                        } else {
                            LockSupport.parkNanos(Math.min(cap, SLEEP_NANOS));
                        }
                    }
                    case PARKING -> park(sequence, cursor, barrier, cap);
                    case BLOCKING -> block(sequence, cursor, barrier, cap);
                }
            }
            spins++;
        }
        long available;
        while ((available = dependentSequence.get()) < sequence) {
            barrier.checkAlert();
            Thread.onSpinWait();
        }
        return available;
    }

    private void park(long sequence, Sequence cursor, SequenceBarrier barrier, long nanos) {
        waiter = Thread.currentThread();
        if (cursor.get() < sequence && !poked && !barrier.isAlerted()) {
            LockSupport.parkNanos(this, nanos);
        }
        waiter = null;
    }

    private void block(long sequence, Sequence cursor, SequenceBarrier barrier, long nanos) throws InterruptedException {
        lock.lock();
        try {
            if (cursor.get() < sequence && !poked && !barrier.isAlerted()) {
                moved.awaitNanos(nanos);
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void signalAllWhenBlocking() {
        wake();
    }

    private void wake() {
        if (mode == WaitMode.BLOCKING) {
            lock.lock();
            try {
                moved.signalAll();
            } finally {
                lock.unlock();
            }
        } else {
            Thread w = waiter;
            if (w != null) {
                LockSupport.unpark(w);
            }
        }
    }
}
