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
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A network partition drilled through the chaos API ({@code PUT /admin/chaos/partition}) on three replicas: the leader,
 * cut off from both followers while clients still reach every replica, keeps leading alone; the followers elect one of
 * theirs with a higher term. Each side changes the rollout; the lone leader says its change reached none of the
 * replicas it knows of. When the partition heals, the higher term keeps leading, the rollback made on its side is what
 * every replica serves, and the lone leader's own change is replaced — both kept in its audit log.
 */
@ExtendWith(VertxExtension.class)
class ClusterPartitionTest {
    private static final String TOKEN = "partition-test-secret";
    private static final int USERS = 40;

    @TempDir
    Path dir;
    private final List<WeirServer> servers = new ArrayList<>();
    private final List<String> nodes = new ArrayList<>();

    @AfterEach
    void stop() {
        servers.forEach(WeirServer::close);
    }

    private void startReplicas() throws Exception {
        nodes.addAll(ClusterRolloutsTestSupport.loopbackNodes(3));
        for (int i = 0; i < 3; i++) { // one after the other: the first started leads
            servers.add(TestServers.start(null, Map.of("audit.log", dir.resolve("audit-" + i + ".jsonl").toString(),
                    "cluster.peers", String.join(",", nodes), "cluster.advertise", nodes.get(i), "cluster.port", ClusterRolloutsTestSupport.port(nodes.get(i)),
                    "cluster.token", TOKEN, "cluster.sync.ms", 100, "chaos.enabled", true)));
        }
    }

    private int port(int replica) {
        return servers.get(replica).port();
    }

    private Future<JsonObject> cluster(WebClient client, int replica) {
        return client.get(port(replica), "127.0.0.1", "/admin/cluster").send().map(HttpResponse::bodyAsJsonObject);
    }

    private Future<JsonObject> localRollout(WebClient client, int replica) {
        return client.get(port(replica), "127.0.0.1", "/admin/rollouts/ranker?local=true").send()
                .map(r -> r.bodyAsJsonObject().getJsonObject("rollout"));
    }

    /** The arms users 0..USERS-1 are served by on one replica. */
    private Future<List<String>> arms(WebClient client, int replica) {
        return Waves.run(USERS, 10, u -> client.post(port(replica), "127.0.0.1", "/v1/rank:score")
                        .sendJsonObject(HttpApiTest.rankRequest(3).put("user_id", "user-" + u)))
                .map(rs -> rs.stream().map(r -> r.statusCode() == 200 ? r.getHeader("x-weir-variant") : "status " + r.statusCode()).toList());
    }

    @Test
    void theSideThatElectedANewLeaderWinsWhenThePartitionHeals(Vertx vertx, VertxTestContext tc) throws Exception {
        startReplicas();
        WebClient client = WebClient.create(vertx);
        JsonObject canary = new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", 50)
                .put("window_s", 3600).put("actor", "alice").put("why", "try 1.1.0");
        ClusterRolloutsTestSupport.eventually(vertx, 5_000, () -> Future.all(cluster(client, 0), cluster(client, 1), cluster(client, 2))
                        .map(all -> all.list().stream().allMatch(c -> ((JsonObject) c).getJsonArray("peers").size() == 2
                                && nodes.get(0).equals(((JsonObject) c).getString("leader")))))
                .compose(v -> client.put(port(0), "127.0.0.1", "/admin/rollouts/ranker").sendJsonObject(canary))
                .compose(r -> {
                    tc.verify(() -> assertThat(r.getHeader("x-weir-replicated")).as(r.bodyAsString()).isEqualTo("2/2"));
                    // a typo would cut off nothing and the drill would show nothing: refused, as is this replica itself
                    List<String> bad = List.of("weir-peers", "127.0.0.1:9", nodes.get(0));
                    return Future.all(bad.stream().map(p -> client.put(port(0), "127.0.0.1", "/admin/chaos/partition")
                            .sendJsonObject(new JsonObject().put("peers", new JsonArray().add(nodes.get(1)).add(p)))).toList());
                })
                .compose(all -> {
                    tc.verify(() -> {
                        List<String> why = List.of("host:port", "not a peer this replica knows", "this replica itself");
                        for (int i = 0; i < why.size(); i++) {
                            HttpResponse<Buffer> r = all.resultAt(i);
                            assertThat(r.statusCode()).isEqualTo(400);
                            assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message")).contains(why.get(i));
                        }
                    });
                    // set on the leader alone, it cuts both ways: its calls fail, the followers' calls to it are dropped
                    return client.put(port(0), "127.0.0.1", "/admin/chaos/partition")
                            .sendJsonObject(new JsonObject().put("peers", new JsonArray().add(nodes.get(1)).add(nodes.get(2))));
                })
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
                        assertThat(r.bodyAsJsonObject().getJsonArray("partitioned_from")).containsExactlyInAnyOrder(nodes.get(1), nodes.get(2));
                    });
                    return ClusterRolloutsTestSupport.eventually(vertx, 10_000, () -> Future.all(cluster(client, 0),
                                    cluster(client, 1), cluster(client, 2))
                            .map(all -> all.<JsonObject>resultAt(0).getJsonArray("peers").isEmpty()
                                    && all.<JsonObject>resultAt(0).getBoolean("leading")
                                    && nodes.get(1).equals(all.<JsonObject>resultAt(1).getString("leader"))
                                    && all.<JsonObject>resultAt(1).getBoolean("leading")
                                    && nodes.get(1).equals(all.<JsonObject>resultAt(2).getString("leader"))));
                })
                .compose(v -> Future.all(cluster(client, 0), cluster(client, 1)))
                .compose(all -> {
                    tc.verify(() -> {
                        assertThat(all.<JsonObject>resultAt(0).getLong("term")).isEqualTo(1L);
                        assertThat(all.<JsonObject>resultAt(1).getLong("term")).as("a new leader, a higher term").isEqualTo(2L);
                        assertThat(all.<JsonObject>resultAt(0).getJsonArray("partitioned_from")).hasSize(2);
                        assertThat(all.<JsonObject>resultAt(0).getJsonArray("replicas_known"))
                                .as("heard no more, still counted").containsExactlyInAnyOrder(nodes.get(1), nodes.get(2));
                    });
                    // the majority's side rolls the canary back (through a follower: forwarded to its new leader) ...
                    return client.post(port(2), "127.0.0.1", "/admin/rollouts/ranker/rollback")
                            .sendJsonObject(new JsonObject().put("actor", "bob").put("why", "p95 regression"));
                })
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
                        assertThat(r.getHeader("x-weir-rollout-leader")).isEqualTo(nodes.get(1));
                        assertThat(r.getHeader("x-weir-replicated")).as("the lone replica does not have it").isEqualTo("1/2");
                    });
                    // ... while the lone leader, still answering its clients, sends more users to the canary
                    return client.put(port(0), "127.0.0.1", "/admin/rollouts/ranker")
                            .sendJsonObject(canary.copy().put("canary_weight", 80).put("actor", "carol").put("why", "more traffic"));
                })
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
                        assertThat(r.getHeader("x-weir-replicated")).as("a change no other replica has, said so").isEqualTo("0/2");
                    });
                    return Future.all(arms(client, 0), arms(client, 2));
                })
                .compose(all -> {
                    tc.verify(() -> {
                        assertThat(all.<List<String>>resultAt(0)).as("the lone side serves its own change").contains("canary");
                        assertThat(all.<List<String>>resultAt(1)).as("the majority serves the rollback").containsOnly("primary");
                    });
                    return client.delete(port(0), "127.0.0.1", "/admin/chaos/partition").send();
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.bodyAsJsonObject().getBoolean("healed")).isTrue());
                    return ClusterRolloutsTestSupport.eventually(vertx, 10_000, () -> Future.all(cluster(client, 0),
                                    cluster(client, 1), cluster(client, 2), localRollout(client, 0))
                            .map(all -> {
                                for (int i = 0; i < 3; i++) {
                                    if (!nodes.get(1).equals(all.<JsonObject>resultAt(i).getString("leader"))
                                            || all.<JsonObject>resultAt(i).getBoolean("leading") != (i == 1)) {
                                        return false;
                                    }
                                }
                                return "rolled_back".equals(all.<JsonObject>resultAt(3).getString("status"));
                            }));
                })
                .compose(v -> Future.all(arms(client, 0), arms(client, 1), arms(client, 2)))
                .onComplete(tc.succeeding(all -> tc.verify(() -> {
                    for (int i = 0; i < 3; i++) {
                        assertThat(all.<List<String>>resultAt(i)).as("replica %d after the heal", i).containsOnly("primary");
                    }
                    String loneAudit = Files.readString(dir.resolve("audit-0.jsonl"));
                    assertThat(loneAudit).as("its own decision, and its replacement by the leader it follows now")
                            .contains("\"actor\":\"carol\"").contains("\"actor\":\"leader " + nodes.get(1) + "\"");
                    assertThat(servers.get(0).cluster().leading()).isFalse();
                    tc.completeNow();
                })));
    }

    @Test
    void aPartitionNamesPeersByTheirClusterAddressAndNeedsClusterPeers(Vertx vertx, VertxTestContext tc) throws Exception {
        WeirServer lone = TestServers.start(null, Map.of("audit.log", dir.resolve("audit-lone.jsonl").toString(),
                "chaos.enabled", true));
        servers.add(lone);
        WebClient client = WebClient.create(vertx);
        client.put(lone.port(), "127.0.0.1", "/admin/chaos/partition")
                .sendJsonObject(new JsonObject().put("peers", new JsonArray().add("127.0.0.1:9")))
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(400);
                    assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message")).contains("no cluster peers");
                    tc.completeNow();
                })));
    }
}
