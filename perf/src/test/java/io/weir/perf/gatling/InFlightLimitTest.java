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
    void aSendThatEndsAtOnceGivesItsSlotToTheNextWithoutRecursing() throws InterruptedException {
        BoundedPoolLoad.InFlightLimit limit = new BoundedPoolLoad.InFlightLimit(1);
        List<Integer> started = new ArrayList<>();
        limit.submit(() -> started.add(-1));
        // A backlog of requests whose deadline passed while they waited: each ends at once, and one done() walks past
        // all of them in a loop (a recursive hand-over would overflow the stack long before 200,000).
        int expired = 200_000;
        int[] ended = {0};
        for (int i = 0; i < expired; i++) {
            limit.submit(() -> {
                ended[0]++;
                return false;
            });
        }
        limit.submit(() -> started.add(1));
        limit.submit(() -> started.add(2));
        limit.done();
        assertThat(ended[0]).isEqualTo(expired);
        assertThat(started).as("the first live send after the backlog takes the slot, the next waits").containsExactly(-1, 1);
        limit.done();
        assertThat(started).containsExactly(-1, 1, 2);
        limit.done();
        assertThat(limit.awaitIdle(TimeUnit.MILLISECONDS.toNanos(1))).isTrue();
        // Idle, a send that ends at once leaves the slot free.
        limit.submit(() -> false);
        limit.submit(() -> started.add(3));
        assertThat(started).endsWith(3);
        assertThat(limit.awaitIdle(TimeUnit.MILLISECONDS.toNanos(1))).as("3 still in flight").isFalse();
    }

    @Test
    void aLimitBelowOneIsRefused() {
        assertThatThrownBy(() -> new BoundedPoolLoad.InFlightLimit(0)).isInstanceOf(IllegalArgumentException.class);
    }
}
