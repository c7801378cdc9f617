package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Two replicas with rollout files restart together after one of them missed a rollback: the one that missed it comes up
 * first (it has run longest), yet the one serving the newest rollouts leads, because each noted beside its rollout file
 * the term and the leader's state it served. Without that note both would rank as replicas that applied nothing, the
 * longest-running would lead, and its file would bring the rolled-back canary back on every replica.
 *
 * <p>Steps are taken from the test thread, which waits for each (the servers run their own event loops); waiting for the
 * replicas polls on Vert.x timers ({@link ClusterRolloutsTestSupport#eventually}).
 */
class ClusterRestartTest {
    private static final String TOKEN = "restart-secret";

    @TempDir
    Path dir;
    private final List<String> nodes = new ArrayList<>();
    private final WeirServer[] slots = new WeirServer[2];
    private Vertx vertx;
    private WebClient client;
    /** A replica starting waits up to five syncs for its peers: room for the other to come up. */
    private int syncMillis = 1000;

    @AfterEach
    void stop() {
        ClusterRolloutsTestSupport.closeAll(slots, vertx);
    }

    private Map<String, Object> config(int slot) {
        String self = nodes.get(slot);
        return Map.of("audit.log", dir.resolve("audit-" + slot + ".jsonl").toString(),
                "rollout.file", dir.resolve("rollouts-" + slot + ".json").toString(),
                "cluster.peers", String.join(",", nodes), "cluster.advertise", self,
                "cluster.port", ClusterRolloutsTestSupport.port(self), "cluster.token", TOKEN,
                "cluster.sync.ms", syncMillis);
    }

    /** Starts a replica; returns once its HTTP port listens (its cluster member exists), before it is ready. */
    private WeirServer begin(int slot) throws Exception {
        WeirServer s = WeirServer.start(TestServers.config(null, config(slot))).toCompletionStage().toCompletableFuture()
                .get(60, TimeUnit.SECONDS);
        slots[slot] = s;
        return s;
    }

    private <T> T await(Future<T> f) throws Exception {
        return f.toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    private JsonObject cluster(int slot) throws Exception {
        return await(client.get(slots[slot].port(), "127.0.0.1", "/admin/cluster").send()).bodyAsJsonObject();
    }

    private Future<Boolean> bothFollow(String leader, String status) {
        List<Future<Boolean>> checks = new ArrayList<>();
        for (WeirServer s : slots) {
            checks.add(client.get(s.port(), "127.0.0.1", "/admin/cluster").send()
                    .compose(c -> client.get(s.port(), "127.0.0.1", "/admin/rollouts/ranker?local=true").send()
                            .map(r -> leader.equals(c.bodyAsJsonObject().getString("leader"))
                                    && r.bodyAsJsonObject().getJsonObject("rollout") != null
                                    && status.equals(r.bodyAsJsonObject().getJsonObject("rollout").getString("status")))));
        }
        return Future.all(checks).map(all -> checks.stream().allMatch(Future::result));
    }

    @Test
    void aRestartedReplicaFollowsTheLeaderItFindsThoughItNotedALaterRevisionOfThatLeadersTerm() throws Exception {
        syncMillis = 200;
        nodes.addAll(ClusterRolloutsTestSupport.loopbackNodes(2));
        vertx = Vertx.vertx();
        client = WebClient.create(vertx);
        begin(0);
        slots[0].awaitLoaded(120_000); // alone: it leads after five syncs
        begin(1);
        slots[1].awaitLoaded(120_000);
        // replica 1 follows replica 0, and replica 0 heard it (whom a leader pushes a change to)
        await(ClusterRolloutsTestSupport.eventually(vertx, 10_000, () -> Future.all(
                        client.get(slots[1].port(), "127.0.0.1", "/admin/cluster").send(),
                        client.get(slots[0].port(), "127.0.0.1", "/admin/cluster").send())
                .map(all -> nodes.get(0).equals(all.<HttpResponse<Buffer>>resultAt(0).bodyAsJsonObject().getString("leader"))
                        && all.<HttpResponse<Buffer>>resultAt(1).bodyAsJsonObject().getJsonArray("peers").size() == 1)));
        for (int weight : new int[] {10, 20, 30, 40, 50}) { // replica 1 notes a late revision of replica 0's term 1
            HttpResponse<Buffer> put = await(client.put(slots[0].port(), "127.0.0.1", "/admin/rollouts/ranker")
                    .sendJsonObject(new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", weight)
                            .put("window_s", 3600)));
            assertThat(put.getHeader("x-weir-replicated")).as(put.bodyAsString()).isEqualTo("1/1");
        }
        slots[1].close();
        slots[1] = null;
        slots[0].close();
        slots[0] = null;
        // replica 0's note is lost (a wiped volume): it comes back alone at term 0, leads term 1 again, and its
        // revisions count from the start
        Files.delete(dir.resolve("rollouts-0.json.cluster.json"));
        begin(0);
        slots[0].awaitLoaded(120_000);
        assertThat(cluster(0).getLong("term")).isEqualTo(1L);
        HttpResponse<Buffer> rollback = await(client.post(slots[0].port(), "127.0.0.1", "/admin/rollouts/ranker/rollback")
                .sendJsonObject(new JsonObject().put("actor", "bob").put("why", "after the restart")));
        assertThat(rollback.statusCode()).as(rollback.bodyAsString()).isEqualTo(200);
        // replica 1 restarts with its note of (replica 0, term 1, a later revision): it follows the leader it finds,
        // and takes its state although that state's revision is below the one it noted
        begin(1);
        slots[1].awaitLoaded(120_000);
        await(ClusterRolloutsTestSupport.eventually(vertx, 10_000, () -> bothFollow(nodes.get(0), "rolled_back")));
        assertThat(cluster(0).getBoolean("leading")).isTrue();
    }

    @Test
    void replicasRestartingTogetherLetTheOneServingTheNewestRolloutsLead() throws Exception {
        nodes.addAll(ClusterRolloutsTestSupport.loopbackNodes(2));
        vertx = Vertx.vertx();
        client = WebClient.create(vertx);
        begin(0);
        begin(1);
        slots[0].awaitLoaded(120_000);
        slots[1].awaitLoaded(120_000);
        await(ClusterRolloutsTestSupport.eventually(vertx, 10_000, () -> Future.all(
                        client.get(slots[0].port(), "127.0.0.1", "/admin/cluster").send(),
                        client.get(slots[1].port(), "127.0.0.1", "/admin/cluster").send())
                .map(all -> {
                    String a = all.<HttpResponse<Buffer>>resultAt(0).bodyAsJsonObject().getString("leader");
                    return a != null && a.equals(all.<HttpResponse<Buffer>>resultAt(1).bodyAsJsonObject().getString("leader"))
                            && all.<HttpResponse<Buffer>>resultAt(0).bodyAsJsonObject().getJsonArray("peers").size() == 1
                            && all.<HttpResponse<Buffer>>resultAt(1).bodyAsJsonObject().getJsonArray("peers").size() == 1;
                })));
        int leader = cluster(0).getBoolean("leading") ? 0 : 1;
        int missed = 1 - leader;

        HttpResponse<Buffer> put = await(client.put(slots[leader].port(), "127.0.0.1", "/admin/rollouts/ranker")
                .sendJsonObject(new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", 50)
                        .put("window_s", 3600).put("actor", "alice").put("why", "try 1.1.0")));
        assertThat(put.getHeader("x-weir-replicated")).as(put.bodyAsString()).isEqualTo("1/1");
        slots[missed].close();
        slots[missed] = null;
        HttpResponse<Buffer> rollback = await(client.post(slots[leader].port(), "127.0.0.1", "/admin/rollouts/ranker/rollback")
                .sendJsonObject(new JsonObject().put("actor", "bob").put("why", "p95 regression")));
        assertThat(rollback.statusCode()).as(rollback.bodyAsString()).isEqualTo(200);
        assertThat(rollback.getHeader("x-weir-replicated")).as("the stopped replica lacks it").isEqualTo("0/1");
        long termBefore = cluster(leader).getLong("term");
        slots[leader].close();
        slots[leader] = null;
        assertThat(Files.readString(dir.resolve("rollouts-" + missed + ".json"))).as("its file still has the canary")
                .contains("\"running\"");

        // the one that missed the rollback starts first: it has run longest when the other answers. Its cluster API
        // answering means it loaded its models and file and waits (up to five syncs) for its peer
        begin(missed);
        int missedClusterPort = ClusterRolloutsTestSupport.port(nodes.get(missed));
        await(ClusterRolloutsTestSupport.eventually(vertx, 30_000, () -> client.get(missedClusterPort, "127.0.0.1", "/cluster/state")
                .bearerTokenAuthentication(TOKEN).send().map(r -> r.statusCode() == 200).otherwise(false)));
        begin(leader);
        slots[missed].awaitLoaded(120_000);
        slots[leader].awaitLoaded(120_000);
        await(ClusterRolloutsTestSupport.eventually(vertx, 15_000, () -> bothFollow(nodes.get(leader), "rolled_back")));
        JsonObject c = cluster(leader);
        assertThat(c.getBoolean("leading")).isTrue();
        assertThat(c.getLong("term")).as("terms only grow, across restarts too").isGreaterThan(termBefore);
        String audit = Files.readString(dir.resolve("audit-" + missed + ".jsonl"));
        assertThat(audit).as("the replica that missed the rollback takes it from the leader")
                .contains("\"actor\":\"leader " + nodes.get(leader) + "\"");
    }
}
