package io.weir.gateway.http;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static org.assertj.core.api.Assertions.assertThat;

class LogThrottleTest {
    private static final long SECOND = 1_000_000_000L;

    private final List<LogRecord> records = new ArrayList<>();
    private final Logger logger = Logger.getAnonymousLogger();
    private final AtomicLong now = new AtomicLong(5 * SECOND);
    private final LogThrottle throttle = new LogThrottle(logger, 10 * SECOND, now::get);

    LogThrottleTest() {
        logger.setUseParentHandlers(false);
        logger.addHandler(new Handler() {
            @Override
            public void publish(LogRecord r) {
                records.add(r);
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        });
    }

    @Test
    void aFailingBatchLogsOneStackTraceAnIntervalAndThenSaysHowManyItLeftOut() {
        RuntimeException cause = new IllegalStateException("injected");
        for (int i = 0; i < 64; i++) {
            throttle.log(Level.WARNING, "internal error: inference failed on cpu", cause);
        }
        assertThat(records).hasSize(1);
        assertThat(records.getFirst().getThrown()).isSameAs(cause);
        assertThat(records.getFirst().getMessage()).isEqualTo("internal error: inference failed on cpu");

        now.addAndGet(9 * SECOND);
        throttle.log(Level.WARNING, "internal error: inference failed on cpu", cause);
        assertThat(records).as("still inside the interval").hasSize(1);

        now.addAndGet(2 * SECOND);
        throttle.log(Level.WARNING, "internal error: inference failed on cpu", cause);
        assertThat(records).hasSize(2);
        assertThat(records.get(1).getMessage())
                .isEqualTo("internal error: inference failed on cpu (and 64 more like it in the 11 s before, not logged)");
    }

    @Test
    void differentMessagesAreThrottledApart() {
        throttle.log(Level.WARNING, "internal error: inference failed on cpu", null);
        throttle.log(Level.SEVERE, "unexpected failure: java.lang.NullPointerException", null);
        throttle.log(Level.WARNING, "internal error: inference failed on cpu", null);
        assertThat(records).extracting(LogRecord::getMessage).containsExactly("internal error: inference failed on cpu",
                "unexpected failure: java.lang.NullPointerException");
    }

    @Test
    void aFullTableDropsEndedWindowsSayingWhatTheyLeftOutAndNeverGrowsPastItsBound() {
        for (int i = 0; i < 500; i++) {
            throttle.log(Level.WARNING, "hot", null);
        }
        for (int i = 0; i < LogThrottle.MAX_MESSAGES - 1; i++) {
            throttle.log(Level.WARNING, "message " + i, null);
        }
        assertThat(records).hasSize(LogThrottle.MAX_MESSAGES);
        // Full, nothing ended yet: a new message is logged, not tracked.
        throttle.log(Level.WARNING, "one more", null);
        throttle.log(Level.WARNING, "one more", null);
        assertThat(records).hasSize(LogThrottle.MAX_MESSAGES + 2);

        now.addAndGet(11 * SECOND);
        throttle.log(Level.WARNING, "another", null);
        assertThat(records).extracting(LogRecord::getMessage).contains("hot: 499 more like it in the 11 s before, not logged")
                .last().isEqualTo("another");
        throttle.log(Level.WARNING, "another", null);
        assertThat(records.getLast().getMessage()).as("tracked again: the second is held back").isEqualTo("another");
        assertThat(records.stream().filter(r -> r.getMessage().equals("another")).count()).isEqualTo(1);
    }
}
