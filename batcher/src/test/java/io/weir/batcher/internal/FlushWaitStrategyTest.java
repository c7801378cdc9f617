package io.weir.batcher.internal;

import com.lmax.disruptor.AlertException;
import com.lmax.disruptor.Sequence;
import com.lmax.disruptor.SequenceBarrier;
import com.lmax.disruptor.TimeoutException;
import io.weir.batcher.BatchingOptions.WaitMode;
import io.weir.runtime.Ticker;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The batching thread's timed wait on the system clock: it times out at its timer (not before, and not a backstop
 * period later), and a publish ends it long before the timer.
 */
class FlushWaitStrategyTest {

    @ParameterizedTest
    @EnumSource(value = WaitMode.class, names = {"BLOCKING", "PARKING"})
    void aTimedWaitEndsAtItsTimerOnTheSystemClock(WaitMode mode) throws Exception {
        FlushWaitStrategy waits = new FlushWaitStrategy(mode, Ticker.system());
        Sequence cursor = new Sequence(-1);
        long start = System.nanoTime();
        waits.wakeAt(start + TimeUnit.MILLISECONDS.toNanos(30));

        CompletableFuture<Long> timedOutAfter = CompletableFuture.supplyAsync(() -> {
            try {
                waits.waitFor(0, cursor, cursor, new Barrier());
                return -1L;
            } catch (TimeoutException e) {
                return System.nanoTime() - start;
            } catch (AlertException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });

        long elapsed = timedOutAfter.get(10, TimeUnit.SECONDS);
        assertThat(elapsed).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(30))
                .isLessThan(TimeUnit.SECONDS.toNanos(5));
    }

    @ParameterizedTest
    @EnumSource(value = WaitMode.class, names = {"BLOCKING", "PARKING"})
    void aPublishWakesATimedWaitLongBeforeItsTimer(WaitMode mode) throws Exception {
        FlushWaitStrategy waits = new FlushWaitStrategy(mode, Ticker.system());
        Sequence cursor = new Sequence(-1);
        long start = System.nanoTime();
        waits.wakeAt(start + TimeUnit.SECONDS.toNanos(60));

        CompletableFuture<Long> woke = CompletableFuture.supplyAsync(() -> {
            try {
                return waits.waitFor(0, cursor, cursor, new Barrier());
            } catch (AlertException | InterruptedException | TimeoutException e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(20);   // let the waiter park (if it has not, the publish is seen on its next check anyway)
        cursor.set(0);
        waits.signalAllWhenBlocking();

        assertThat(woke.get(10, TimeUnit.SECONDS)).isEqualTo(0L);
        assertThat(System.nanoTime() - start).isLessThan(TimeUnit.SECONDS.toNanos(10));
    }

    /** A barrier that is never alerted. */
    private static final class Barrier implements SequenceBarrier {
        @Override
        public long waitFor(long sequence) {
            throw new UnsupportedOperationException();
        }

        @Override
        public long getCursor() {
            return -1;
        }

        @Override
        public boolean isAlerted() {
            return false;
        }

        @Override
        public void alert() {
        }

        @Override
        public void clearAlert() {
        }

        @Override
        public void checkAlert() {
        }
    }
}
