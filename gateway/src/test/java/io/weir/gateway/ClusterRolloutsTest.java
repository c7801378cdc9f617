package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Three replicas on loopback sharing their rollouts: the longest-running leads, the others serve its rollouts user for
 * user and forward their rollout admin calls to it, and when it stops the next longest-running takes over with the
 * state it was following.
 */
@ExtendWith(VertxExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterRolloutsTest {
    private static final String TOKEN = "cluster-test-secret";
    private static final int USERS = 40;

    @TempDir
    static Path dir;
    private static final List<WeirServer> servers = new ArrayList<>();
    private static final List<String> nodes = new ArrayList<>();

    @BeforeAll
    static void startReplicas() throws Exception {
        nodes.addAll(ClusterRolloutsTestSupport.loopbackNodes(3));
        String peers = String.join(",", nodes);
        for (int i = 0; i < 3; i++) { // one after the other: the first started is the oldest, so it leads
            servers.add(TestServers.start(null, Map.of("audit.log", dir.resolve("audit-" + i + ".jsonl").toString(),
                    "cluster.peers", peers, "cluster.advertise", nodes.get(i), "cluster.port", ClusterRolloutsTestSupport.port(nodes.get(i)),
                    "cluster.token", TOKEN, "cluster.sync.ms", 100,
                    // faults on one replica's canary only (@Order(5))
                    "chaos.enabled", true)));
        }
    }

    @AfterAll
    static void stopReplicas() {
        servers.forEach(s -> {
            if (s != null) {
                s.close();
            }
        });
    }

    private static WebClient client(Vertx vertx) {
        return WebClient.create(vertx);
    }

    private static int port(int replica) {
        return servers.get(replica).port();
    }

    private static int clusterPort(int replica) {
        return ClusterRolloutsTestSupport.port(nodes.get(replica));
    }

    /** The arm each of users 0..USERS-1 is served by on one replica. */
    private static Future<List<String>> arms(WebClient client, int replica) {
        return Waves.run(USERS, 10, u -> client.post(port(replica), "127.0.0.1", "/v1/rank:score")
                .sendJsonObject(HttpApiTest.rankRequest(3).put("user_id", "user-" + u)))
                .map(rs -> rs.stream().map(r -> r.statusCode() == 200 ? r.getHeader("x-weir-variant") : "status " + r.statusCode()).toList());
    }

    private static Future<JsonObject> cluster(WebClient client, int replica) {
        return client.get(port(replica), "127.0.0.1", "/admin/cluster").send().map(HttpResponse::bodyAsJsonObject);
    }

    @Test
    @Order(1)
    void theLongestRunningReplicaLeadsAndTheOthersKnowIt(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        // the replica started last heard both others before it was ready; they hear it at their next sync
        ClusterRolloutsTestSupport.eventually(vertx, 5_000, () -> Future.all(cluster(client, 0), cluster(client, 1), cluster(client, 2))
                        .map(all -> all.list().stream().allMatch(c -> ((JsonObject) c).getJsonArray("peers").size() == 2)))
                .compose(v -> Future.all(cluster(client, 0), cluster(client, 1), cluster(client, 2)))
                .onComplete(tc.succeeding(all -> tc.verify(() -> {
            for (int i = 0; i < 3; i++) {
                JsonObject c = all.resultAt(i);
                assertThat(c.getString("node")).isEqualTo(nodes.get(i));
                assertThat(c.getString("leader")).as("replica %d's leader", i).isEqualTo(nodes.get(0));
                assertThat(c.getBoolean("leading")).isEqualTo(i == 0);
                assertThat(c.getJsonArray("peers")).hasSize(2);
            }
            assertThat(servers.get(0).meters().get("weir.cluster.leading").gauge().value()).isEqualTo(1.0);
            assertThat(servers.get(1).meters().get("weir.cluster.leading").gauge().value()).isZero();
            tc.completeNow();
        })));
    }

    @Test
    @Order(2)
    void aRolloutPutOnAFollowerIsDecidedByTheLeaderAndServedAlikeEverywhere(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        JsonObject rollout = new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", 50)
                .put("why", "try 1.1.0 on half the users");
        client.put(port(2), "127.0.0.1", "/admin/rollouts/ranker").putHeader("x-weir-actor", "alice")
                .sendJsonObject(rollout).compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
                        assertThat(r.getHeader("x-weir-rollout-leader")).isEqualTo(nodes.get(0));
                        assertThat(r.getHeader("x-weir-replicated")).as("both followers had it before the answer").isEqualTo("2/2");
                        assertThat(r.bodyAsJsonObject().getString("canary")).isEqualTo("1.1.0");
                    });
                    // every replica serves it when the call returns (x-weir-replicated 2/2); the arms say so
                    return ClusterRolloutsTestSupport.eventually(vertx, 5_000, () -> Future.all(arms(client, 0), arms(client, 1), arms(client, 2))
                            .map(all -> all.<List<String>>resultAt(0).equals(all.resultAt(1))
                                    && all.<List<String>>resultAt(0).equals(all.resultAt(2))
                                    && all.<List<String>>resultAt(0).contains("canary")
                                    && all.<List<String>>resultAt(0).contains("primary")));
                })
                .compose(v -> client.get(port(1), "127.0.0.1", "/admin/rollouts/ranker/audit?limit=1").send())
                .map(r -> tc.verify(() -> {
                    // read through a follower: the leader's audit log, with the caller named, not the follower
                    assertThat(r.getHeader("x-weir-rollout-leader")).isEqualTo(nodes.get(0));
                    JsonObject record = r.bodyAsJsonObject().getJsonArray("audit").getJsonObject(0);
                    assertThat(record.getString("actor")).isEqualTo("alice");
                    assertThat(record.getString("action")).isEqualTo("put");
                    String followerAudit = Files.readString(dir.resolve("audit-2.jsonl"));
                    assertThat(followerAudit).contains("\"actor\":\"leader " + nodes.get(0) + "\"").contains("\"follow\"");
                }))
                .compose(v -> client.get(port(2), "127.0.0.1", "/admin/rollouts/ranker/audit?limit=1&local=true").send())
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    // ?local=true: the follower's own record of what it took from the leader
                    assertThat(r.getHeader("x-weir-rollout-leader")).isNull();
                    JsonObject record = r.bodyAsJsonObject().getJsonArray("audit").getJsonObject(0);
                    assertThat(record.getString("actor")).isEqualTo("leader " + nodes.get(0));
                    tc.completeNow();
                })));
    }

    @Test
    @Order(3)
    void aFollowerRelaysTheLeadersRefusalAsItIs(Vertx vertx, VertxTestContext tc) {
        client(vertx).put(port(1), "127.0.0.1", "/admin/rollouts/ranker")
                .sendJsonObject(new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", 150))
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(400);
                    assertThat(r.getHeader("x-weir-rollout-leader")).isEqualTo(nodes.get(0));
                    assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("INVALID_ARGUMENT");
                    assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message")).contains("canary_weight");
                    tc.completeNow();
                })));
    }

    @Test
    @Order(3)
    void aReplicaThatDoesNotLeadRefusesChangesOnItsClusterApi(Vertx vertx, VertxTestContext tc) {
        client(vertx).post(clusterPort(1), "127.0.0.1", "/cluster/admin/rollouts/ranker/pause")
                .putHeader("authorization", "Bearer " + TOKEN).sendJsonObject(new JsonObject().put("actor", "stale-forwarder"))
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(503);
                    assertThat(r.getHeader("x-weir-rollout-leader")).isEqualTo(nodes.get(0));
                    assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message")).contains("does not lead");
                    tc.completeNow();
                })));
    }

    @Test
    @Order(3)
    void theClusterApiRefusesCallersWithoutTheToken(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        Future.all(client.get(clusterPort(0), "127.0.0.1", "/cluster/state").send(),
                        client.put(clusterPort(0), "127.0.0.1", "/cluster/admin/rollouts/ranker")
                                .putHeader("authorization", "Bearer wrong").sendJsonObject(new JsonObject().put("primary", "1.0.0")))
                .onComplete(tc.succeeding(all -> tc.verify(() -> {
                    for (int i = 0; i < 2; i++) {
                        HttpResponse<Buffer> r = all.resultAt(i);
                        assertThat(r.statusCode()).isEqualTo(401);
                        assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("UNAUTHENTICATED");
                    }
                    tc.completeNow();
                })));
    }

    @Test
    @Order(4)
    void whenTheLeaderStopsTheNextLongestRunningLeadsFromTheStateItFollowed(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        // the leader's guard has watched the canary's stage for 3 s: the stage's clock its followers keep
        ClusterRolloutsTestSupport.eventually(vertx, 10_000, () -> client.get(clusterPort(0), "127.0.0.1", "/cluster/state")
                        .bearerTokenAuthentication(TOKEN).send().map(r -> {
                            JsonObject p = r.bodyAsJsonObject().getJsonObject("progress").getJsonObject("ranker");
                            return p != null && p.getDouble("stage_elapsed_s") >= 3.0;
                        }))
                .compose(v -> vertx.executeBlocking(() -> {
                    servers.get(0).close();
                    return null;
                }))
                .compose(v -> ClusterRolloutsTestSupport.eventually(vertx, 5_000, () -> Future.all(cluster(client, 1), cluster(client, 2))
                        .map(all -> nodes.get(1).equals(all.<JsonObject>resultAt(0).getString("leader"))
                                && nodes.get(1).equals(all.<JsonObject>resultAt(1).getString("leader")))))
                // its guard watches the rollout from its first tick as leader (a second at most)
                .compose(v -> ClusterRolloutsTestSupport.eventually(vertx, 5_000, () -> client.get(port(1), "127.0.0.1",
                        "/admin/rollouts/ranker").send().map(r -> r.bodyAsJsonObject().getJsonObject("guard").getBoolean("watching"))))
                .compose(v -> client.get(port(1), "127.0.0.1", "/admin/rollouts/ranker").send())
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(servers.get(1).cluster().leading()).isTrue();
                        assertThat(servers.get(1).meters().get("weir.cluster.term").gauge().value())
                                .as("a new leader, a new term: what the flapping alert counts").isEqualTo(2.0);
                        assertThat(r.bodyAsJsonObject().getJsonObject("rollout").getString("canary")).isEqualTo("1.1.0");
                        // it took over within a second or so, and resumed the stage the old leader had watched 3 s
                        assertThat(r.bodyAsJsonObject().getJsonObject("guard").getDouble("stage_elapsed_s"))
                                .as("the stage resumed, not restarted").isGreaterThanOrEqualTo(3.0);
                    });
                    return client.post(port(2), "127.0.0.1", "/admin/rollouts/ranker/rollback")
                            .sendJsonObject(new JsonObject().put("actor", "bob").put("why", "p95"));
                })
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
                        assertThat(r.getHeader("x-weir-rollout-leader")).isEqualTo(nodes.get(1));
                    });
                    return ClusterRolloutsTestSupport.eventually(vertx, 5_000, () -> Future.all(arms(client, 1), arms(client, 2))
                            .map(all -> all.<List<String>>resultAt(0).stream().allMatch("primary"::equals)
                                    && all.<List<String>>resultAt(1).stream().allMatch("primary"::equals)));
                })
                .onComplete(tc.succeedingThenComplete());
    }

    @Test
    @Order(5)
    void theLeaderRollsBackACanaryThatFailsOnlyWhereAFollowerServesIt(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        // replica 1 leads now; the canary fails on replica 2 only, and only replica 2 gets traffic
        JsonObject rollout = new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", 50)
                .put("window_s", 1).put("gates", new JsonObject().put("max_error_rate", 0.05).put("min_window_requests", 20))
                .put("actor", "carol").put("why", "again, on every replica");
        client.put(port(2), "127.0.0.1", "/admin/chaos/faults/ranker")
                .sendJsonObject(new JsonObject().put("version", "1.1.0").put("failure_rate", 1.0))
                .compose(r -> {
                    tc.verify(() -> assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200));
                    return client.put(port(2), "127.0.0.1", "/admin/rollouts/ranker").sendJsonObject(rollout);
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200));
                    return ClusterRolloutsTestSupport.eventually(vertx, 15_000, () -> arms(client, 2)
                            .compose(served -> client.get(port(1), "127.0.0.1", "/admin/rollouts/ranker").send())
                            .map(g -> "rolled_back".equals(g.bodyAsJsonObject().getJsonObject("rollout").getString("status"))));
                })
                .compose(v -> client.get(port(1), "127.0.0.1", "/admin/rollouts/ranker").send())
                .compose(r -> {
                    tc.verify(() -> {
                        JsonObject got = r.bodyAsJsonObject().getJsonObject("rollout");
                        assertThat(got.getString("status_reason")).contains("error rate");
                        assertThat(servers.get(1).cluster().leading()).isTrue();
                    });
                    return client.delete(port(2), "127.0.0.1", "/admin/chaos/faults/ranker?version=1.1.0").send();
                })
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(200);
                    tc.completeNow();
                })));
    }

    @Test
    @Order(6)
    void aReplicaWithoutTheCanaryServesTheLeadersPrimaryAndFollowsOnceItLoadsTheCanary(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        // model loads are per replica: replica 2 lacks 1.1.0 while the leader (replica 1) canaries it
        client.post(port(2), "127.0.0.1", "/admin/models/ranker/versions/1.1.0/unload").send()
                .compose(r -> {
                    tc.verify(() -> assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200));
                    return client.put(port(1), "127.0.0.1", "/admin/rollouts/ranker").sendJsonObject(new JsonObject()
                            .put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", 50).put("window_s", 3600));
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200));
                    return ClusterRolloutsTestSupport.eventually(vertx, 5_000, () -> cluster(client, 2)
                            .map(c -> c.getJsonObject("refused").containsKey("ranker")));
                })
                .compose(v -> arms(client, 2))
                .compose(served -> {
                    tc.verify(() -> assertThat(served).as("the leader's primary, alone").containsOnly("primary"));
                    return client.post(port(2), "127.0.0.1", "/admin/models/ranker/versions/1.1.0/load").send();
                })
                .compose(r -> ClusterRolloutsTestSupport.eventually(vertx, 10_000, () -> Future.all(cluster(client, 2),
                                arms(client, 1), arms(client, 2))
                        .map(all -> all.<JsonObject>resultAt(0).getJsonObject("refused").isEmpty()
                                && all.<List<String>>resultAt(1).equals(all.resultAt(2))
                                && all.<List<String>>resultAt(2).contains("canary"))))
                .onComplete(tc.succeedingThenComplete());
    }

    @Test
    @Order(7)
    void aStandaloneServerSaysItDecidesItsOwnRollouts(Vertx vertx, VertxTestContext tc) throws Exception {
        WeirServer alone = TestServers.start(null, Map.of("audit.log", dir.resolve("audit-alone.jsonl").toString()));
        client(vertx).get(alone.port(), "127.0.0.1", "/admin/cluster").send()
                .onComplete(ar -> vertx.executeBlocking(() -> {
                    alone.close();
                    return null;
                }).onComplete(closed -> tc.verify(() -> {
                    assertThat(ar.succeeded()).isTrue();
                    JsonObject c = ar.result().bodyAsJsonObject();
                    assertThat(c.getBoolean("leading")).isTrue();
                    assertThat(c.getJsonArray("peers")).isEqualTo(new JsonArray());
                    assertThat(alone.cluster()).isNull();
                    tc.completeNow();
                })));
    }
}
