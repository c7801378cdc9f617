package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A Kubernetes rolling update (maxSurge 1, maxUnavailable 0) replaces every replica one at a time: a new one starts,
 * then an old one stops. The rollouts live only in the replicas, so they must pass from the old ones to the new ones:
 * after three replicas were replaced by three new ones, the new ones serve the rollout as it was, guard progress aside.
 */
@ExtendWith(VertxExtension.class)
class ClusterRollingUpdateTest {
    private static final String TOKEN = "rolling-update-secret";

    @TempDir
    Path dir;
    private final List<WeirServer> running = new ArrayList<>();

    @AfterEach
    void stop() {
        running.forEach(WeirServer::close);
    }

    /** Six cluster ports (three replicas, then their replacements) that every replica lists as its peers. */
    private static List<String> nodes() throws Exception {
        return ClusterRolloutsTestSupport.loopbackNodes(6);
    }

    private WeirServer start(List<String> nodes, int i) throws Exception {
        String self = nodes.get(i);
        WeirServer s = TestServers.start(null, Map.of("audit.log", dir.resolve("audit-" + i + ".jsonl").toString(),
                "cluster.peers", String.join(",", nodes), "cluster.advertise", self,
                "cluster.port", ClusterRolloutsTestSupport.port(self), "cluster.token", TOKEN,
                "cluster.sync.ms", 100));
        running.add(s);
        return s;
    }

    private void stop(WeirServer s) {
        running.remove(s);
        s.close();
    }

    @Test
    void aRolloutOutlivesTheReplacementOfEveryReplica(Vertx vertx, VertxTestContext tc) throws Exception {
        List<String> nodes = nodes();
        List<WeirServer> old = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            old.add(start(nodes, i));
        }
        WebClient client = WebClient.create(vertx);
        JsonObject rollout = new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", 30)
                .put("window_s", 3600).put("actor", "alice").put("why", "before the deploy");
        int code = client.put(old.get(1).port(), "127.0.0.1", "/admin/rollouts/ranker").sendJsonObject(rollout)
                .toCompletionStage().toCompletableFuture().get().statusCode();
        assertThat(code).isEqualTo(200);

        List<WeirServer> fresh = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            fresh.add(start(nodes, 3 + i)); // ready only once it follows the leader: it serves the rollout from the start
            stop(old.get(i));
        }
        Future.all(fresh.stream().map(s -> client.get(s.port(), "127.0.0.1", "/admin/rollouts/ranker?local=true").send()
                        .map(r -> r.bodyAsJsonObject().getJsonObject("rollout"))).toList())
                .compose(all -> {
                    tc.verify(() -> {
                        for (int i = 0; i < 3; i++) {
                            JsonObject got = all.resultAt(i);
                            assertThat(got).as("replica %d", 3 + i).isNotNull();
                            assertThat(got.getString("canary")).isEqualTo("1.1.0");
                            assertThat(got.getDouble("canary_weight")).isEqualTo(30.0);
                            assertThat(got.getString("status")).isEqualTo("running");
                        }
                    });
                    return ClusterRolloutsTestSupport.eventually(vertx, 5_000, () -> Future.all(fresh.stream()
                                    .map(s -> client.get(s.port(), "127.0.0.1", "/admin/cluster").send()
                                            .map(r -> r.bodyAsJsonObject())).toList())
                            .map(cs -> cs.list().stream().map(c -> ((JsonObject) c).getString("leader")).distinct().count() == 1
                                    && cs.list().stream().filter(c -> ((JsonObject) c).getBoolean("leading")).count() == 1));
                })
                .compose(v -> client.post(fresh.get(2).port(), "127.0.0.1", "/admin/rollouts/ranker/rollback")
                        .sendJsonObject(new JsonObject().put("actor", "bob").put("why", "after the deploy")))
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
                    // both followers have it; the three replaced replicas' addresses stay in cluster.peers and count as
                    // replicas that do not (a Kubernetes headless Service would no longer list them)
                    assertThat(r.getHeader("x-weir-replicated")).isEqualTo("2/5");
                    tc.completeNow();
                })));
    }
}
