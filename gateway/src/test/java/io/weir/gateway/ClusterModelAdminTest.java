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
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Per-replica admin calls (model load/unload, batching policies, the embedding index) made on every replica at once with
 * {@code ?replicas=all}, through any one of them: each replica's own answer comes back, and a failure on any names it.
 */
@ExtendWith(VertxExtension.class)
class ClusterModelAdminTest {
    @TempDir
    static Path dir;
    private static final WeirServer[] slots = new WeirServer[2];
    private static final List<String> nodes = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        nodes.addAll(ClusterRolloutsTestSupport.loopbackNodes(2));
        for (int i = 0; i < 2; i++) {
            slots[i] = TestServers.start(null, Map.of("audit.log", dir.resolve("audit-" + i + ".jsonl").toString(),
                    "cluster.peers", String.join(",", nodes), "cluster.advertise", nodes.get(i),
                    "cluster.port", ClusterRolloutsTestSupport.port(nodes.get(i)), "cluster.token", "t",
                    "cluster.sync.ms", 100));
        }
    }

    @AfterAll
    static void stop() {
        ClusterRolloutsTestSupport.closeAll(slots, null);
    }

    /** The state of ranker@1.1.0 as each replica itself lists it. */
    private static Future<List<String>> canaryStates(WebClient client) {
        List<Future<String>> states = new ArrayList<>();
        for (WeirServer s : slots) {
            states.add(client.get(s.port(), "127.0.0.1", "/admin/models").send().map(r -> {
                for (Object m : r.bodyAsJsonObject().getJsonArray("models")) {
                    JsonObject status = (JsonObject) m;
                    if (status.getString("model").equals("ranker") && status.getString("version").equals("1.1.0")) {
                        return status.getString("state");
                    }
                }
                return "absent";
            }));
        }
        return Future.all(states).map(all -> states.stream().map(Future::result).toList());
    }

    private static void everyReplicaAnswered(HttpResponse<Buffer> r, int status) {
        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
        assertThat(r.getHeader("x-weir-replicated")).isEqualTo("2/2");
        JsonArray replicas = r.bodyAsJsonObject().getJsonArray("replicas");
        assertThat(replicas).hasSize(2);
        assertThat(replicas.stream().map(o -> ((JsonObject) o).getString("node")).toList())
                .containsExactlyInAnyOrderElementsOf(nodes);
        replicas.forEach(o -> assertThat(((JsonObject) o).getInteger("status")).isEqualTo(status));
    }

    @Test
    void aModelVersionIsUnloadedAndLoadedOnEveryReplicaThroughOne(Vertx vertx, VertxTestContext tc) {
        WebClient client = WebClient.create(vertx);
        // the replicas hear each other at their first syncs: until then one does not know the other
        ClusterRolloutsTestSupport.eventually(vertx, 5_000, () -> Future.all(
                        client.get(slots[0].port(), "127.0.0.1", "/admin/cluster").send(),
                        client.get(slots[1].port(), "127.0.0.1", "/admin/cluster").send())
                .map(all -> all.<HttpResponse<Buffer>>resultAt(0).bodyAsJsonObject().getJsonArray("peers").size() == 1
                        && all.<HttpResponse<Buffer>>resultAt(1).bodyAsJsonObject().getJsonArray("peers").size() == 1))
                .compose(v -> client.post(slots[1].port(), "127.0.0.1", "/admin/models/ranker/versions/1.1.0/unload?replicas=all").send())
                .compose(r -> {
                    tc.verify(() -> everyReplicaAnswered(r, 200));
                    return canaryStates(client);
                })
                .compose(states -> {
                    tc.verify(() -> assertThat(states).containsOnly("UNLOADED"));
                    return client.get(slots[0].port(), "127.0.0.1", "/admin/models?replicas=all").send();
                })
                .compose(r -> {
                    tc.verify(() -> {
                        everyReplicaAnswered(r, 200);
                        r.bodyAsJsonObject().getJsonArray("replicas").forEach(o -> assertThat(((JsonObject) o)
                                .getJsonObject("body").getJsonArray("models")).isNotEmpty());
                    });
                    return client.post(slots[0].port(), "127.0.0.1", "/admin/models/ranker/versions/1.1.0/load?replicas=all").send();
                })
                .compose(r -> {
                    tc.verify(() -> everyReplicaAnswered(r, 200));
                    return canaryStates(client);
                })
                .onComplete(tc.succeeding(states -> tc.verify(() -> {
                    assertThat(states).containsOnly("READY");
                    tc.completeNow();
                })));
    }

    @Test
    void aBatchingPolicyIsSetEverywhereItsLatencyReadFromEachAndAFailureAnywhereIsNamed(Vertx vertx, VertxTestContext tc) {
        WebClient client = WebClient.create(vertx);
        JsonObject fixed = new JsonObject().put("policy", "fixed").put("max_queue_delay_us", 500);
        ClusterRolloutsTestSupport.eventually(vertx, 5_000, () -> client.get(slots[0].port(), "127.0.0.1", "/admin/cluster").send()
                        .map(r -> r.bodyAsJsonObject().getJsonArray("peers").size() == 1))
                .compose(v -> client.put(slots[0].port(), "127.0.0.1", "/admin/models/moderation/batching?replicas=all")
                        .sendJsonObject(fixed))
                .compose(r -> {
                    tc.verify(() -> {
                        everyReplicaAnswered(r, 200);
                        r.bodyAsJsonObject().getJsonArray("replicas").forEach(o -> assertThat(((JsonObject) o)
                                .getJsonObject("body").getJsonObject("override")).isEqualTo(fixed));
                    });
                    return client.get(slots[1].port(), "127.0.0.1", "/admin/models/moderation/batching").send();
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.bodyAsJsonObject().getJsonObject("override")).as("replica 1's own").isEqualTo(fixed));
                    return client.delete(slots[1].port(), "127.0.0.1", "/admin/models/moderation/batching?replicas=all").send();
                })
                .compose(r -> {
                    tc.verify(() -> everyReplicaAnswered(r, 200));
                    // each replica's own batcher percentiles, side by side (a replica that batched nothing has none)
                    return client.get(slots[0].port(), "127.0.0.1", "/admin/models/moderation/latency?replicas=all").send();
                })
                .compose(r -> {
                    tc.verify(() -> {
                        everyReplicaAnswered(r, 200);
                        r.bodyAsJsonObject().getJsonArray("replicas").forEach(o -> {
                            JsonObject body = ((JsonObject) o).getJsonObject("body");
                            assertThat(body.getString("model")).isEqualTo("moderation");
                            assertThat(body.getJsonObject("versions")).isNotNull();
                        });
                    });
                    return Future.all(client.post(slots[0].port(), "127.0.0.1", "/admin/models/ranker/versions/9.9.9/load?replicas=all").send(),
                            client.get(slots[0].port(), "127.0.0.1", "/admin/models?replicas=some").send());
                })
                .onComplete(tc.succeeding(all -> tc.verify(() -> {
                    HttpResponse<Buffer> missing = all.resultAt(0);
                    assertThat(missing.statusCode()).isEqualTo(404);
                    assertThat(missing.getHeader("x-weir-replicated")).isEqualTo("0/2");
                    String message = missing.bodyAsJsonObject().getJsonObject("error").getString("message");
                    assertThat(message).startsWith("0 of 2 replicas did it").contains(nodes.get(0), nodes.get(1), "9.9.9");
                    HttpResponse<Buffer> bad = all.resultAt(1);
                    assertThat(bad.statusCode()).isEqualTo(400);
                    assertThat(bad.bodyAsJsonObject().getJsonObject("error").getString("message")).contains("'all'");
                    tc.completeNow();
                })));
    }

    @Test
    void theEmbeddingIndexIsRefreshedOnEveryReplica(Vertx vertx, VertxTestContext tc) {
        WebClient client = WebClient.create(vertx);
        ClusterRolloutsTestSupport.eventually(vertx, 5_000, () -> client.get(slots[1].port(), "127.0.0.1", "/admin/cluster").send()
                        .map(r -> r.bodyAsJsonObject().getJsonArray("peers").size() == 1))
                .compose(v -> client.post(slots[1].port(), "127.0.0.1", "/admin/similar/refresh?replicas=all").send())
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    everyReplicaAnswered(r, 200);
                    r.bodyAsJsonObject().getJsonArray("replicas").forEach(o -> assertThat(((JsonObject) o)
                            .getJsonObject("body").getValue("swapped")).isInstanceOf(Boolean.class));
                    tc.completeNow();
                })));
    }
}
