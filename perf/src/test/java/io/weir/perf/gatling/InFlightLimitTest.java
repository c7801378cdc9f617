package io.weir.perf.gatling;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The bounded generator's connection bound: at most N in flight, the rest wait and go in arrival order. */
class InFlightLimitTest {

    @Test
    void atMostTheLimitRunsAndTheRestStartInArrivalOrderAsOthersFinish() throws InterruptedException {
        BoundedPoolLoad.InFlightLimit limit = new BoundedPoolLoad.InFlightLimit(2);
        List<Integer> started = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            int id = i;
            limit.submit(() -> started.add(id));
        }
        assertThat(started).containsExactly(0, 1);
        limit.done();
        assertThat(started).containsExactly(0, 1, 2);
        limit.done();
        limit.done();
        assertThat(started).containsExactly(0, 1, 2, 3, 4);
        assertThat(limit.awaitIdle(TimeUnit.MILLISECONDS.toNanos(1))).as("two still in flight").isFalse();
        limit.done();
        limit.done();
        assertThat(limit.awaitIdle(TimeUnit.MILLISECONDS.toNanos(1))).isTrue();
        // Free again: the next submission runs at once.
        limit.submit(() -> started.add(5));
        assertThat(started).endsWith(5);
    }

    @Test
    void aLimitBelowOneIsRefused() {
        assertThatThrownBy(() -> new BoundedPoolLoad.InFlightLimit(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
