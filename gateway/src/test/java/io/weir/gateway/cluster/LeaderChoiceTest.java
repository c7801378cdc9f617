package io.weir.gateway.cluster;

import io.weir.gateway.cluster.ClusterMember.Candidate;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/** Who leads, from what each replica heard: the same answer whatever order the replicas are listed in. */
class LeaderChoiceTest {
    private static String choose(long seed, Candidate... replicas) {
        List<Candidate> list = new ArrayList<>(List.of(replicas));
        Collections.shuffle(list, new Random(seed));
        return ClusterMember.chooseLeader(list);
    }

    private static String everyOrder(Candidate... replicas) {
        String first = choose(0, replicas);
        for (long seed = 1; seed < 20; seed++) {
            assertThat(choose(seed, replicas)).as("order %d", seed).isEqualTo(first);
        }
        return first;
    }

    @Test
    void withNoLeaderTheLongestRunningLeadsTiesByAddress() {
        assertThat(everyOrder(new Candidate("10.0.0.3:8081", 300, false, 0), new Candidate("10.0.0.1:8081", 200, false, 0),
                new Candidate("10.0.0.2:8081", 100, false, 0))).isEqualTo("10.0.0.2:8081");
        assertThat(everyOrder(new Candidate("10.0.0.3:8081", 100, false, 0), new Candidate("10.0.0.1:8081", 100, false, 0)))
                .isEqualTo("10.0.0.1:8081");
    }

    @Test
    void anIncumbentKeepsLeadingAgainstAnOlderReplicaThatComesBackOrStarts() {
        assertThat(everyOrder(new Candidate("a:8081", 100, false, 1), new Candidate("b:8081", 200, true, 2),
                new Candidate("c:8081", 300, false, 2))).isEqualTo("b:8081");
    }

    @Test
    void afterAPartitionTheHigherTermWinsThenTheLongerRun() {
        // a led term 1 and was cut off; b was elected term 2 meanwhile: both say they lead once they hear each other
        assertThat(everyOrder(new Candidate("a:8081", 100, true, 1), new Candidate("b:8081", 200, true, 2),
                new Candidate("c:8081", 300, false, 2))).isEqualTo("b:8081");
        assertThat(everyOrder(new Candidate("a:8081", 100, true, 2), new Candidate("b:8081", 200, true, 2)))
                .isEqualTo("a:8081");
    }
}
