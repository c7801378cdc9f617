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

    /** A replica that does not lead, serving rollouts of (appliedTerm, appliedRevision). */
    private static Candidate follower(String node, long started, long appliedTerm, long appliedRevision) {
        return new Candidate(node, started, false, appliedTerm, appliedTerm, appliedRevision, false);
    }

    private static Candidate leader(String node, long started, long term) {
        return new Candidate(node, started, true, term, term, 7, false);
    }

    @Test
    void withNoLeaderTheLongestRunningLeadsTiesByAddress() {
        assertThat(everyOrder(follower("10.0.0.3:8081", 300, 0, 0), follower("10.0.0.1:8081", 200, 0, 0),
                follower("10.0.0.2:8081", 100, 0, 0))).isEqualTo("10.0.0.2:8081");
        assertThat(everyOrder(follower("10.0.0.3:8081", 100, 0, 0), follower("10.0.0.1:8081", 100, 0, 0)))
                .isEqualTo("10.0.0.1:8081");
    }

    @Test
    void withNoLeaderTheReplicaServingTheNewestRolloutsLeadsBeforeAnOlderOne() {
        // the leader of term 3 died; b applied its last change (revision 12), a missed the push of it
        assertThat(everyOrder(follower("a:8081", 100, 3, 11), follower("b:8081", 200, 3, 12), follower("c:8081", 300, 2, 40)))
                .isEqualTo("b:8081");
    }

    /** A replica just restarted, ranked by what it noted before (see ClusterMember.restoreStamp). */
    private static Candidate restarted(String node, long started, long appliedTerm, long appliedRevision) {
        return new Candidate(node, started, false, appliedTerm, appliedTerm, appliedRevision, false, true);
    }

    @Test
    void replicasRestartingTogetherRankByWhatTheyNotedButNeverUnseatOneLeading() {
        // every replica restarted: the one whose file holds the newest state leads, not the longest-running
        assertThat(everyOrder(restarted("a:8081", 100, 5, 90), restarted("b:8081", 200, 5, 100))).isEqualTo("b:8081");
        // one came up alone and leads (its file was edited while down, so its own note was not taken back); a replica
        // that noted a higher term before its restart follows it rather than disqualify it
        assertThat(everyOrder(leader("a:8081", 100, 1), restarted("b:8081", 200, 5, 100))).isEqualTo("a:8081");
        // once the restarted replica followed someone, its term counts as any replica's: a leader below it was replaced
        assertThat(everyOrder(leader("a:8081", 100, 1), follower("b:8081", 200, 5, 100), follower("c:8081", 300, 5, 99)))
                .isEqualTo("b:8081");
    }

    @Test
    void anIncumbentKeepsLeadingAgainstAnOlderReplicaThatComesBackOrStarts() {
        assertThat(everyOrder(follower("a:8081", 100, 2, 9), leader("b:8081", 200, 2), follower("c:8081", 300, 2, 9)))
                .isEqualTo("b:8081");
    }

    @Test
    void afterAPartitionTheHigherTermWinsThenTheLowerAddress() {
        // a led term 1 and was cut off; b was elected term 2 meanwhile: both say they lead once they hear each other
        assertThat(everyOrder(leader("a:8081", 100, 1), leader("b:8081", 200, 2), follower("c:8081", 300, 2, 3)))
                .isEqualTo("b:8081");
        assertThat(everyOrder(leader("b:8081", 100, 2), leader("a:8081", 200, 2))).isEqualTo("a:8081");
    }

    @Test
    void twoReplicasThatEachThinkThemselvesOlderStillAgreeOnOneLeader() {
        // started within the error of reading each other's uptime: each ranks itself older and both take term 1
        assertThat(ClusterMember.chooseLeader(List.of(follower("a:8081", 1000, 0, 0), follower("b:8081", 1005, 0, 0))))
                .isEqualTo("a:8081");
        assertThat(ClusterMember.chooseLeader(List.of(follower("b:8081", 1002, 0, 0), follower("a:8081", 1003, 0, 0))))
                .isEqualTo("b:8081");
        // at the next sync each hears the other lead: the same one stays on both sides
        List<Candidate> seenByA = List.of(leader("a:8081", 1000, 1), leader("b:8081", 1005, 1));
        List<Candidate> seenByB = List.of(leader("b:8081", 1002, 1), leader("a:8081", 1003, 1));
        assertThat(ClusterMember.chooseLeader(seenByA)).isEqualTo(ClusterMember.chooseLeader(seenByB)).isEqualTo("a:8081");
    }

    @Test
    void aLeaderReplacedWhileItWasCutOffDoesNotLeadAgainOverTheStateOfItsSuccessor() {
        // L led term 1 and was frozen; F1 was elected (term 2) and rolled back, F2 applied that, F1 died; L is back
        assertThat(everyOrder(leader("L:8081", 100, 1), follower("F2:8081", 200, 2, 9))).isEqualTo("F2:8081");
    }

    @Test
    void aReplicaRefusingSomeModelLeadsOnlyWhenNoOtherCan() {
        Candidate refusing = new Candidate("a:8081", 100, false, 2, 2, 9, true);
        assertThat(everyOrder(refusing, follower("b:8081", 200, 2, 9))).isEqualTo("b:8081");
        assertThat(everyOrder(refusing)).isEqualTo("a:8081");
    }

    @Test
    void aReplacedLeaderIsNoCandidateEvenWhenEveryNewerReplicaRefusesSomeModel() {
        Candidate f2 = new Candidate("F2:8081", 200, false, 2, 2, 9, true);
        assertThat(everyOrder(leader("L:8081", 100, 1), f2)).isEqualTo("F2:8081");
    }

    @Test
    void theNewestStateWinsOverServingEveryModel() {
        // C applied the rollback (revision 12) but refuses model x; D missed it (11): C leads, one model off, not D
        Candidate c = new Candidate("C:8081", 100, false, 2, 2, 12, true);
        assertThat(everyOrder(c, follower("D:8081", 200, 2, 11))).isEqualTo("C:8081");
    }
}
