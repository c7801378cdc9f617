package io.weir.router;

import io.vertx.core.json.JsonObject;
import io.weir.router.internal.RolloutStore.FollowOutcome;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A cluster's rollouts as two replicas see them: the leader decides (admin, file, guard), the follower serves exactly
 * the leader's rollouts and decides nothing until it leads.
 */
class RolloutsFollowTest {
    private static final String LEADER = "10.0.0.1:8081";

    @TempDir
    Path dir;

    private final ManualTicker ticker = new ManualTicker();
    private final List<Rollouts> opened = new ArrayList<>();

    private Rollouts replica(String name, FixedCatalog catalog, boolean leading) {
        Rollouts r = Rollouts.builder(catalog, new ScriptedDispatcher(ticker)).ticker(ticker)
                .configFile(dir.resolve(name + "-rollouts.json")).auditLog(dir.resolve(name + "-audit.jsonl"), 100)
                .shadow(16, 1, Duration.ofSeconds(5)).tickEvery(null).leading(leading).build();
        r.start();
        opened.add(r);
        return r;
    }

    @AfterEach
    void tearDown() {
        opened.forEach(Rollouts::close);
    }

    private static FixedCatalog catalog() {
        return new FixedCatalog().load("moderation", "1.0.0", "1.1.0");
    }

    private static JsonObject canary(double weight) {
        return new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", weight);
    }

    private static List<Arm> arms(Rollouts r, int users) {
        List<Arm> out = new ArrayList<>();
        for (int u = 0; u < users; u++) {
            out.add(r.router().route("moderation", "user-" + u, null, null).arm());
        }
        return out;
    }

    private static List<JsonObject> audit(Path file) throws IOException {
        return Files.readAllLines(file).stream().map(JsonObject::new).toList();
    }

    @Test
    void aFollowerServesTheLeadersRolloutsUserForUserAndRecordsWhereTheyCameFrom() throws IOException {
        Rollouts leader = replica("leader", catalog(), true);
        Rollouts follower = replica("follower", catalog(), false);
        leader.admin().put("moderation", canary(30), "alice", "try 1.1.0");

        assertThat(follower.follow(leader.state(), LEADER)).isEqualTo(FollowOutcome.APPLIED);
        assertThat(follower.follow(leader.state(), LEADER)).isEqualTo(FollowOutcome.UNCHANGED);
        // sticky: the same users are on the canary whichever replica the load balancer picks
        assertThat(arms(follower, 2_000)).isEqualTo(arms(leader, 2_000)).contains(Arm.CANARY, Arm.PRIMARY);
        JsonObject record = audit(dir.resolve("follower-audit.jsonl")).getLast();
        assertThat(record.getString("actor")).isEqualTo("leader " + LEADER);
        assertThat(record.getString("action")).isEqualTo("follow");
        assertThat(record.getBoolean("accepted")).isTrue();
        // the follower's file holds what it serves, so it starts from there if it restarts or comes to lead
        assertThat(new JsonObject(Files.readString(dir.resolve("follower-rollouts.json"))).getJsonObject("models"))
                .isEqualTo(leader.state());

        leader.admin().rollback("moderation", "bob", "p95");
        assertThat(follower.follow(leader.state(), LEADER)).isEqualTo(FollowOutcome.APPLIED);
        assertThat(arms(follower, 2_000)).containsOnly(Arm.PRIMARY);
        leader.admin().remove("moderation", "bob", "done");
        follower.follow(leader.state(), LEADER);
        assertThat(follower.state().isEmpty()).isTrue();
        assertThat(audit(dir.resolve("follower-audit.jsonl")).getLast().getString("action")).isEqualTo("remove");
    }

    @Test
    void aFollowerNeitherReadsItsFileNorGuardsUntilItLeads() throws IOException {
        Rollouts follower = replica("follower", catalog(), false);
        Files.writeString(dir.resolve("follower-rollouts.json"),
                new JsonObject().put("models", new JsonObject().put("moderation", canary(100))).encode());
        follower.tick();
        assertThat(follower.state().isEmpty()).isTrue();

        follower.lead(true);
        follower.tick();
        assertThat(follower.leading()).isTrue();
        assertThat(arms(follower, 100)).containsOnly(Arm.CANARY);
    }

    @Test
    void aFollowerRefusesALeaderStateNamingAVersionItHasNotLoadedAndKeepsServing() throws IOException {
        Rollouts leader = replica("leader", catalog(), true);
        Rollouts follower = replica("follower", new FixedCatalog().load("moderation", "1.0.0"), false);
        leader.admin().put("moderation", canary(100), "alice", "all in");

        assertThat(follower.follow(leader.state(), LEADER)).isEqualTo(FollowOutcome.REJECTED);
        assertThat(follower.follow(leader.state(), LEADER)).isEqualTo(FollowOutcome.REJECTED);
        assertThat(follower.state().isEmpty()).isTrue();
        assertThat(arms(follower, 100)).containsOnly(Arm.PRIMARY);
        List<JsonObject> records = audit(dir.resolve("follower-audit.jsonl"));
        assertThat(records).hasSize(1); // refused once per reason, not once per sync
        assertThat(records.getFirst().getBoolean("accepted")).isFalse();
        assertThat(records.getFirst().getString("reason")).contains("'1.1.0' is not loaded");
    }

    @Test
    void aLeaderStateThatDoesNotParseIsAnInvalidArgument() {
        Rollouts follower = replica("follower", catalog(), false);
        try {
            follower.follow(new JsonObject().put("moderation", "not an object"), LEADER);
            throw new AssertionError("expected a refusal");
        } catch (WeirException e) {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
        }
        assertThat(follower.state().isEmpty()).isTrue();
    }
}
