package io.weir.router;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.InferenceResult;
import io.weir.runtime.Tensor;
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
import java.util.Map;

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

        assertThat(follower.follow(leader.state(), LEADER)).isEqualTo(new Followed(true, Map.of()));
        assertThat(follower.follow(leader.state(), LEADER)).isEqualTo(new Followed(false, Map.of()));
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
        assertThat(follower.follow(leader.state(), LEADER).changed()).isTrue();
        assertThat(arms(follower, 2_000)).containsOnly(Arm.PRIMARY);
        leader.admin().remove("moderation", "bob", "done");
        follower.follow(leader.state(), LEADER);
        assertThat(follower.state().isEmpty()).isTrue();
        assertThat(audit(dir.resolve("follower-audit.jsonl")).getLast().getString("action")).isEqualTo("remove");
    }

    @Test
    void aReplicaThatStartsToLeadAppliesAFileEditOnlyWhenNoLeaderHadIt() throws IOException {
        Rollouts leader = replica("leader", catalog(), true);
        Rollouts quiet = replica("quiet", catalog(), false);
        Rollouts edited = replica("edited", catalog(), false);
        leader.admin().put("moderation", canary(50), "alice", "try");
        leader.admin().rollback("moderation", "bob", "p95");
        quiet.follow(leader.state(), LEADER);
        edited.follow(leader.state(), LEADER);
        // what a follower writes is what the leader wrote: the same rollouts, the same file
        assertThat(Files.readString(dir.resolve("quiet-rollouts.json"))).isEqualTo(Files.readString(dir.resolve("leader-rollouts.json")));

        quiet.lead(true, leader.fileDigest());
        quiet.tick();
        assertThat(quiet.state().getJsonObject("moderation").getString("status")).isEqualTo("rolled_back");

        // an operator's edit that reached this replica's copy of the file before any leader applied it
        Files.writeString(dir.resolve("edited-rollouts.json"),
                new JsonObject().put("models", new JsonObject().put("moderation", canary(10))).encode());
        edited.lead(true, leader.fileDigest());
        edited.tick();
        assertThat(edited.state().getJsonObject("moderation").getString("status")).isEqualTo("running");
        assertThat(edited.state().getJsonObject("moderation").getDouble("canary_weight")).isEqualTo(10.0);
    }

    @Test
    void whatThePreviousLeadersFileHeldIsNotAppliedWhenItReachesThisReplicasCopyLate() throws Exception {
        Rollouts leader = replica("leader", catalog(), true);
        Rollouts lagging = replica("lagging", catalog(), false);
        leader.admin().put("moderation", canary(50), "alice", "try");
        leader.admin().rollback("moderation", "bob", "p95");
        lagging.follow(leader.state(), LEADER);
        // a shared (read-only) file: the previous leader had applied this edit, then rolled back without writing it
        byte[] applied = new JsonObject().put("models", new JsonObject().put("moderation", canary(50))).encode()
                .getBytes(java.nio.charset.StandardCharsets.UTF_8);
        String digest = java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(applied));
        lagging.lead(true, digest);
        lagging.tick();
        Files.write(dir.resolve("lagging-rollouts.json"), applied); // this replica's copy catches up only now
        lagging.tick();
        assertThat(lagging.state().getJsonObject("moderation").getString("status")).isEqualTo("rolled_back");
    }

    @Test
    void aFollowerNeitherReadsItsFileNorGuardsUntilItLeads() throws IOException {
        Rollouts leader = replica("leader", catalog(), true);
        Rollouts guarded = replica("guarded", catalog(), false);
        leader.admin().put("moderation", canary(50).put("window_s", 60).put("gates", new JsonObject()
                .put("max_error_rate", 0.05).put("min_window_requests", 50)), "alice", "try");
        guarded.follow(leader.state(), LEADER);
        serve(guarded, 400, true); // a failing canary its gates would roll back
        ticker.advance(Duration.ofSeconds(60));
        guarded.tick();
        ticker.advance(Duration.ofSeconds(60));
        guarded.tick();
        assertThat(guarded.state().getJsonObject("moderation").getString("status")).as("a follower's guard decides nothing")
                .isEqualTo("running");

        Rollouts follower = replica("follower", catalog(), false);
        Path file = dir.resolve("follower-rollouts.json");
        Files.writeString(file, new JsonObject().put("models", new JsonObject().put("moderation", canary(100))).encode());
        follower.tick();
        assertThat(follower.state().isEmpty()).isTrue();

        follower.lead(true);
        Files.writeString(file, new JsonObject().put("models", new JsonObject().put("moderation", canary(100))).encodePrettily());
        follower.tick();
        assertThat(follower.leading()).isTrue();
        assertThat(arms(follower, 100)).containsOnly(Arm.CANARY);
    }

    @Test
    void aModelWhoseVersionIsNotLoadedHereIsRefusedAloneAndDoesNotHoldBackTheOthersRollbacks() throws IOException {
        FixedCatalog leaderModels = catalog().load("ranker", "1.0.0", "2.0.0");
        Rollouts leader = replica("leader", leaderModels, true);
        FixedCatalog followerModels = catalog().load("ranker", "1.0.0");
        Rollouts follower = replica("follower", followerModels, false);
        leader.admin().put("moderation", canary(100), "alice", "all in");
        follower.follow(leader.state(), LEADER);
        assertThat(arms(follower, 100)).containsOnly(Arm.CANARY);

        // ranker 2.0.0 was loaded on the leader only (model loads are per replica), then canaried there
        leader.admin().put("ranker", new JsonObject().put("primary", "1.0.0").put("canary", "2.0.0").put("canary_weight", 100),
                "alice", "new ranker");
        Followed first = follower.follow(leader.state(), LEADER);
        assertThat(first.changed()).as("ranker: the leader's primary alone").isTrue();
        assertThat(first.refused()).containsOnlyKeys("ranker");
        assertThat(first.refused().get("ranker")).contains("'2.0.0' is not loaded");

        // a rollback of another model still reaches this replica
        leader.admin().rollback("moderation", "bob", "p95");
        Followed second = follower.follow(leader.state(), LEADER);
        assertThat(second.changed()).isTrue();
        assertThat(second.refused()).containsOnlyKeys("ranker");
        assertThat(arms(follower, 100)).containsOnly(Arm.PRIMARY);
        // the refused model serves the leader's primary alone, not this replica's newest version
        assertThat(follower.state().getJsonObject("ranker").getString("primary")).isEqualTo("1.0.0");
        assertThat(follower.state().getJsonObject("ranker").containsKey("canary")).isFalse();

        List<JsonObject> refusals = audit(dir.resolve("follower-audit.jsonl")).stream()
                .filter(r -> !r.getBoolean("accepted")).toList();
        assertThat(refusals).hasSize(1); // refused once per reason, not once per sync
        assertThat(refusals.getFirst().getString("model")).isEqualTo("ranker");

        // once it is loaded here too, the leader's rollout applies
        followerModels.load("ranker", "2.0.0");
        assertThat(follower.follow(leader.state(), LEADER)).isEqualTo(new Followed(true, Map.of()));
        assertThat(follower.state().getJsonObject("ranker").getString("canary")).isEqualTo("2.0.0");
    }

    /** A staged rollout of moderation 1.1.0 whose first stage needs 600 s and {@code minRequests} judged requests. */
    private static JsonObject staged(int minRequests) {
        return new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("window_s", 10)
                .put("stages", new JsonArray()
                        .add(new JsonObject().put("name", "small").put("canary_weight", 20).put("min_duration_s", 600)
                                .put("min_requests", minRequests))
                        .add(new JsonObject().put("name", "big").put("canary_weight", 60).put("min_duration_s", 600)
                                .put("min_requests", 1)));
    }

    /** {@code n} windows of 10 s with traffic from 200 users (or none) on one replica, each ended by its tick. */
    private void windows(Rollouts r, int n, boolean traffic) {
        for (int w = 0; w < n; w++) {
            if (traffic) {
                serve(r, 200, false);
            }
            ticker.advance(Duration.ofSeconds(10));
            r.tick();
        }
    }

    private static int stage(Rollouts r) {
        return r.state().getJsonObject("moderation").getInteger("stage");
    }

    @Test
    void theNextLeaderResumesAStageWhereThePreviousLeaderWasInsteadOfRestartingIt() {
        Rollouts leader = replica("leader", catalog(), true);
        Rollouts follower = replica("follower", catalog(), false);
        leader.admin().put("moderation", staged(1_000), "alice", "staged rollout");
        leader.tick(); // the stage's first window opens
        windows(leader, 55, true); // 550 s of the stage's 600
        follower.follow(leader.state(), LEADER);
        follower.followProgress(leader.progress()); // as every sync hands it over
        JsonObject progress = leader.progress().getJsonObject("moderation");
        assertThat(progress.getDouble("stage_elapsed_s")).isEqualTo(550.0);
        long judged = progress.getLong("stage_requests");
        assertThat(judged).as("past min_requests already; six windows alone would not be").isGreaterThanOrEqualTo(1_000);
        assertThat(follower.progress().isEmpty()).as("a follower hands nothing over").isTrue();

        follower.lead(true, leader.fileDigest()); // the leader is gone
        follower.tick();
        JsonObject guard = follower.admin().get("moderation").getJsonObject("guard");
        assertThat(guard.getLong("stage_requests")).isEqualTo(judged);
        assertThat(guard.getDouble("stage_elapsed_s")).isEqualTo(550.0);
        windows(follower, 6, true); // 60 s more: the stage's 600 s are up on the fleet's clock, not the new leader's
        assertThat(stage(follower)).as("advanced to 'big'").isEqualTo(1);
        assertThat(follower.state().getJsonObject("moderation").getDouble("canary_weight")).isEqualTo(60.0);
    }

    @Test
    void aResumedStageAdvancesOnlyOnceTheNewLeaderJudgedItAndOnlyTheSameStageIsResumed() {
        Rollouts leader = replica("leader", catalog(), true);
        Rollouts quiet = replica("quiet", catalog(), false);
        Rollouts other = replica("other", catalog(), false);
        leader.admin().put("moderation", staged(1), "alice", "staged rollout");
        leader.tick();
        windows(leader, 59, true); // 590 s: a follower kept this, then the leader's last windows went unseen
        quiet.follow(leader.state(), LEADER);
        quiet.followProgress(leader.progress());
        other.follow(leader.state(), LEADER);
        JsonObject progress = leader.progress();
        other.followProgress(new JsonObject().put("moderation", progress.getJsonObject("moderation").copy()
                .put("stage_key", "1.0.0|1.1.0|1|null"))); // another stage's progress: not this one's

        quiet.lead(true, leader.fileDigest());
        quiet.tick();
        windows(quiet, 3, false); // no traffic: time and requests are past the minimums, but nothing judged here
        assertThat(stage(quiet)).as("not advanced on the previous leader's word alone").isZero();
        windows(quiet, 2, true); // ~40 canary requests a window: judged once min_window_requests (50) are in
        assertThat(stage(quiet)).as("advanced once a window of its own was judged").isEqualTo(1);

        other.lead(true, leader.fileDigest());
        other.tick();
        assertThat(other.admin().get("moderation").getJsonObject("guard").getDouble("stage_elapsed_s"))
                .as("another stage's progress is not resumed").isZero();
    }

    private static InferenceResult scored(float score) {
        return new InferenceResult(Map.of("score", Tensor.ofFloats(new long[] {1, 1}, new float[] {score})), "cpu", 0, 0, 1, false);
    }

    /** Requests from users 0..users-1 on one replica; the canary fails every request when {@code canaryFails}. */
    private static void serve(Rollouts r, int users, boolean canaryFails) {
        for (int u = 0; u < users; u++) {
            Route route = r.router().route("moderation", "user-" + u, "req-" + u, null);
            if (route.arm() == Arm.CANARY && canaryFails) {
                r.router().recordFailure(route, 1_000_000, new WeirException(ErrorCode.INTERNAL, "boom"));
            } else {
                r.router().recordSuccess(route, 5_000_000, scored((u % 10) / 10f));
            }
        }
    }

    @Test
    void theLeadersGatesJudgeWhatTheFollowersUsersSaw() {
        Rollouts leader = replica("leader", catalog(), true);
        Rollouts follower = replica("follower", catalog(), false);
        leader.admin().put("moderation", canary(50).put("window_s", 60).put("gates", new JsonObject()
                .put("max_error_rate", 0.05).put("min_window_requests", 50)), "alice", "try 1.1.0");
        leader.tick(); // the guard opens the first window
        follower.follow(leader.state(), LEADER);

        // a canary that fails only where the follower serves it: the leader's own traffic is clean
        serve(leader, 400, false);
        serve(follower, 400, true);
        ticker.advance(Duration.ofSeconds(60));
        leader.tick();
        assertThat(leader.admin().get("moderation").getJsonObject("rollout").getString("status"))
                .as("judged on the leader's traffic alone").isEqualTo("running");

        serve(leader, 400, false);
        serve(follower, 400, true);
        JsonObject export = follower.exportWindows();
        assertThat(export.fieldNames()).containsExactly("moderation");
        assertThat(leader.absorbWindows(export)).as("the follower's canary requests of this window, and the last").isGreaterThan(100);
        assertThat(follower.exportWindows().getJsonObject("moderation").getJsonObject("canary").getLong("requests"))
                .as("handed over once").isZero();
        ticker.advance(Duration.ofSeconds(60));
        leader.tick();
        JsonObject rollout = leader.admin().get("moderation").getJsonObject("rollout");
        assertThat(rollout.getString("status")).isEqualTo("rolled_back");
        assertThat(rollout.getString("status_reason")).contains("error rate");

        // a leader never hands its own windows over, a follower never takes others'
        assertThat(leader.exportWindows().isEmpty()).isTrue();
        assertThat(follower.absorbWindows(export)).isZero();
    }

    @Test
    void aModelThatDoesNotParseHereIsRefusedAloneAndTheOthersStillFollow() {
        Rollouts leader = replica("leader", catalog().load("ranker", "1.0.0"), true);
        Rollouts follower = replica("follower", catalog().load("ranker", "1.0.0"), false);
        leader.admin().put("moderation", canary(100), "alice", "all in");
        JsonObject state = leader.state();
        // a newer leader's rollout field this replica does not know yet (a rolling upgrade)
        state.put("ranker", new JsonObject().put("primary", "1.0.0").put("sticky_by", "session"));
        Followed f = follower.follow(state, LEADER);
        assertThat(f.refused()).containsOnlyKeys("ranker");
        assertThat(f.refused().get("ranker")).contains("does not parse here");
        assertThat(arms(follower, 100)).containsOnly(Arm.CANARY);
        // the leader's primary, alone: never a canary this replica may have had from an older rollout
        assertThat(follower.state().getJsonObject("ranker").getString("primary")).isEqualTo("1.0.0");
        assertThat(follower.state().getJsonObject("ranker").containsKey("canary")).isFalse();
        assertThat(follower.follow(new JsonObject().put("moderation", "not an object"), LEADER).refused())
                .containsOnlyKeys("moderation");
    }
}
