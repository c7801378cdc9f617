package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A leader sends each change to its followers at once, and answers an admin change only once they have it: here the
 * follower's own sync runs once a minute, so only the leader's push can have brought it the change by the time the
 * answer comes (and a leader that failed right after answering would leave its followers with the change).
 */
@ExtendWith(VertxExtension.class)
class ClusterPushTest {
    @TempDir
    static Path dir;
    private static WeirServer leader;
    private static WeirServer follower;

    @BeforeAll
    static void start() throws Exception {
        int[] ports = new int[2];
        for (int i = 0; i < 2; i++) {
            try (ServerSocket s = new ServerSocket(0)) {
                ports[i] = s.getLocalPort();
            }
        }
        // the replicas advertise a name, and are listed by address: each is reached at two names (itself too), and
        // counts once in x-weir-replicated
        String peers = "127.0.0.1:" + ports[0] + ",127.0.0.1:" + ports[1];
        leader = TestServers.start(null, Map.of("audit.log", dir.resolve("a.jsonl").toString(), "cluster.peers", peers,
                "cluster.advertise", "localhost:" + ports[0], "cluster.port", ports[0], "cluster.token", "t",
                "cluster.sync.ms", 100));
        // its first sync runs at start and finds the leader; the next would be a minute later
        follower = TestServers.start(null, Map.of("audit.log", dir.resolve("b.jsonl").toString(), "cluster.peers", peers,
                "cluster.advertise", "localhost:" + ports[1], "cluster.port", ports[1], "cluster.token", "t",
                "cluster.sync.ms", 60_000));
    }

    @AfterAll
    static void stop() {
        follower.close();
        leader.close();
    }

    private static Future<String> followerCanary(WebClient client) {
        return client.get(follower.port(), "127.0.0.1", "/admin/rollouts/ranker?local=true").send()
                .map(r -> r.statusCode() == 404 ? "none" : r.bodyAsJsonObject().getJsonObject("rollout").getString("status"));
    }

    @Test
    void aChangeOnTheLeaderReachesAFollowerWithoutWaitingForItsSync(Vertx vertx, VertxTestContext tc) {
        WebClient client = WebClient.create(vertx);
        assertThat(follower.cluster().leading()).isFalse();
        // the leader hears the follower at its own next sync (100 ms): only then does it know whom to push to
        ClusterRolloutsTestSupport.eventually(vertx, 5_000, () -> client.get(leader.port(), "127.0.0.1", "/admin/cluster").send()
                        .map(r -> r.bodyAsJsonObject().getJsonArray("peers").size() == 1))
                .compose(v -> client.put(leader.port(), "127.0.0.1", "/admin/rollouts/ranker").sendJsonObject(new JsonObject()
                        .put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", 50)))
                // an admin change is answered once the follower has it: no waiting after the answer
                .compose(r -> {
                    tc.verify(() -> assertThat(r.getHeader("x-weir-replicated")).isEqualTo("1/1"));
                    return followerCanary(client);
                })
                .compose(status -> {
                    tc.verify(() -> assertThat(status).isEqualTo("running"));
                    return client.post(leader.port(), "127.0.0.1", "/admin/rollouts/ranker/rollback")
                            .sendJsonObject(new JsonObject().put("actor", "bob").put("why", "p95"));
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.getHeader("x-weir-replicated")).isEqualTo("1/1"));
                    return followerCanary(client);
                })
                .onComplete(tc.succeeding(status -> tc.verify(() -> {
                    assertThat(status).isEqualTo("rolled_back");
                    tc.completeNow();
                })));
    }
}
