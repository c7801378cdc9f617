package io.weir.batcher.internal;

import com.lmax.disruptor.AlertException;
import com.lmax.disruptor.Sequence;
import com.lmax.disruptor.SequenceBarrier;
import com.lmax.disruptor.TimeoutException;
import io.weir.batcher.BatchingOptions.WaitMode;
import io.weir.batcher.testing.FakeTicker;
import io.weir.runtime.Ticker;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The batching thread's timed wait: on the system clock it times out at its timer (not before, and not a backstop
 * period later), and a publish ends it long before the timer; on an injected clock a jump past the timer ends it.
 */
class FlushWaitStrategyTest {

    @ParameterizedTest
    @EnumSource(value = WaitMode.class, names = {"BLOCKING", "PARKING"})
    void aTimedWaitEndsAtItsTimerOnTheSystemClock(WaitMode mode) throws Exception {
        FlushWaitStrategy waits = new FlushWaitStrategy(mode, Ticker.system());
        Sequence cursor = new Sequence(-1);
        long start = System.nanoTime();
        waits.wakeAt(start + TimeUnit.MILLISECONDS.toNanos(30));

        Outcome outcome = waitInBackground(waits, cursor).get(10, TimeUnit.SECONDS);

        assertThat(outcome.timedOut()).isTrue();
        assertThat(outcome.atNanos() - start).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(30))
                .isLessThan(TimeUnit.SECONDS.toNanos(5));
    }

    @ParameterizedTest
    @EnumSource(value = WaitMode.class, names = {"BLOCKING", "PARKING"})
    void aPublishWakesATimedWaitLongBeforeItsTimer(WaitMode mode) throws Exception {
        FlushWaitStrategy waits = new FlushWaitStrategy(mode, Ticker.system());
        Sequence cursor = new Sequence(-1);
        long start = System.nanoTime();
        waits.wakeAt(start + TimeUnit.SECONDS.toNanos(60));

        CompletableFuture<Outcome> waiting = waitInBackground(waits, cursor);
        Thread.sleep(20);   // let the waiter park (if it has not, the publish is seen on its next check anyway)
        cursor.set(0);
        waits.signalAllWhenBlocking();
        Outcome outcome = waiting.get(10, TimeUnit.SECONDS);

        assertThat(outcome.timedOut()).isFalse();
        assertThat(outcome.available()).isEqualTo(0L);
        assertThat(outcome.atNanos() - start).isLessThan(TimeUnit.SECONDS.toNanos(10));
    }

    @ParameterizedTest
    @EnumSource(value = WaitMode.class, names = {"BLOCKING", "PARKING"})
    void onAnInjectedClockAJumpPastTheTimerEndsTheWait(WaitMode mode) throws Exception {
        FakeTicker clock = new FakeTicker();
        FlushWaitStrategy waits = new FlushWaitStrategy(mode, clock);
        Sequence cursor = new Sequence(-1);
        waits.wakeAt(clock.nanos() + TimeUnit.HOURS.toNanos(1));

        CompletableFuture<Outcome> waiting = waitInBackground(waits, cursor);
        Thread.sleep(20);   // let the waiter park: nothing but its own re-reads of the clock can end the wait now
        clock.advance(TimeUnit.HOURS.toNanos(1));
        Outcome outcome = waiting.get(10, TimeUnit.SECONDS);

        assertThat(outcome.timedOut()).isTrue();
    }

    /** How a wait for sequence 0 ended: the sequence available, or a timeout, and when. */
    private record Outcome(boolean timedOut, long available, long atNanos) {
    }

    private static CompletableFuture<Outcome> waitInBackground(FlushWaitStrategy waits, Sequence cursor) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                long available = waits.waitFor(0, cursor, cursor, new Barrier());
                return new Outcome(false, available, System.nanoTime());
            } catch (TimeoutException e) {
                return new Outcome(true, -1, System.nanoTime());
            } catch (AlertException | InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
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
