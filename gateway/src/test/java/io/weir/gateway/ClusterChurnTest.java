package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Seeded churn on three replicas sharing rollouts: rollout changes sent to any replica, interleaved with replicas
 * restarting (the leader among them). After every change, once the replicas settle, each one serves exactly the last
 * change acknowledged and they agree on one leader. Half the restarts are not waited for: the next change meets the
 * replicas mid-election.
 *
 * <p>Each step is taken from the test thread, which waits for it (the servers run their own event loops); waiting for
 * the replicas to settle polls on Vert.x timers ({@link ClusterRolloutsTestSupport#eventually}).
 */
class ClusterChurnTest {
    private static final String TOKEN = "churn-secret";

    @TempDir
    Path dir;
    private final WeirServer[] slots = new WeirServer[3];
    private final List<String> nodes = new ArrayList<>();
    private Vertx vertx;
    private WebClient client;
    private int starts;

    @AfterEach
    void stop() {
        ClusterRolloutsTestSupport.closeAll(slots, vertx);
    }

    private void start(int slot) throws Exception {
        String self = nodes.get(slot);
        slots[slot] = TestServers.start(null, Map.of("audit.log", dir.resolve("audit-" + (starts++) + ".jsonl").toString(),
                "cluster.peers", String.join(",", nodes), "cluster.advertise", self,
                "cluster.port", ClusterRolloutsTestSupport.port(self), "cluster.token", TOKEN,
                "cluster.sync.ms", 100));
    }

    private Future<HttpResponse<Buffer>> send(int slot, String method, String path, JsonObject body) {
        var req = client.request(HttpMethod.valueOf(method), slots[slot].port(), "127.0.0.1", path);
        return body == null ? req.send() : req.sendJsonObject(body);
    }

    /** Waits (on Vert.x timers, polling every 50 ms) until {@code check} holds; false after 15 s. */
    private boolean within15s(Supplier<Future<Boolean>> check) throws Exception {
        try {
            ClusterRolloutsTestSupport.eventually(vertx, 15_000, check).toCompletionStage().toCompletableFuture()
                    .get(30, TimeUnit.SECONDS);
            return true;
        } catch (ExecutionException e) {
            return false;
        }
    }

    /** A change, sent again while the replicas have no leader (503) or the leader stepped down mid-call (503). */
    private HttpResponse<Buffer> change(int slot, String method, String path, JsonObject body) throws Exception {
        AtomicReference<HttpResponse<Buffer>> last = new AtomicReference<>();
        within15s(() -> send(slot, method, path, body).map(r -> {
            last.set(r);
            return r.statusCode() != 503;
        }));
        return last.get();
    }

    /** "ok" once every replica serves {@code expected} (its own view) and all name one leader, else the last seen. */
    private String settled(JsonObject expected) throws Exception {
        String want = expected.getString("status") + "@" + expected.getDouble("canary_weight");
        AtomicReference<String> seen = new AtomicReference<>("");
        boolean agreed = within15s(() -> {
            List<Future<JsonObject>> answers = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                answers.add(send(i, "GET", "/admin/rollouts/ranker?local=true", null).map(HttpResponse::bodyAsJsonObject));
                answers.add(send(i, "GET", "/admin/cluster", null).map(HttpResponse::bodyAsJsonObject));
            }
            return Future.all(answers).map(all -> {
                List<String> views = new ArrayList<>();
                List<String> leaders = new ArrayList<>();
                int leading = 0;
                for (int i = 0; i < 3; i++) {
                    JsonObject rollout = all.<JsonObject>resultAt(2 * i).getJsonObject("rollout");
                    views.add(rollout == null ? "none" : rollout.getString("status") + "@" + rollout.getDouble("canary_weight"));
                    JsonObject c = all.resultAt(2 * i + 1);
                    leaders.add(c.getString("leader"));
                    leading += Boolean.TRUE.equals(c.getBoolean("leading")) ? 1 : 0;
                }
                seen.set("views " + views + ", leaders " + leaders + ", " + leading + " leading");
                return views.stream().allMatch(want::equals) && leaders.stream().distinct().count() == 1
                        && leaders.getFirst() != null && leading == 1;
            });
        });
        return agreed ? "ok" : seen.get();
    }

    @ParameterizedTest
    @ValueSource(longs = {7, 11, 42})
    void everyReplicaServesTheLastAcknowledgedChangeThroughRestarts(long seed) throws Exception {
        nodes.addAll(ClusterRolloutsTestSupport.loopbackNodes(3));
        for (int i = 0; i < 3; i++) {
            start(i);
        }
        vertx = Vertx.vertx();
        client = WebClient.create(vertx);
        Random rnd = new Random(seed);
        JsonObject expected = null;
        for (int step = 0; step < 8; step++) {
            boolean restart = expected != null && rnd.nextInt(3) == 0;
            String did;
            if (restart) {
                int slot = rnd.nextInt(3);
                slots[slot].close();
                start(slot);
                did = "restarted replica " + slot;
            } else {
                int via = rnd.nextInt(3);
                HttpResponse<Buffer> r;
                if (expected == null || rnd.nextBoolean()) {
                    double weight = 5 + rnd.nextInt(90);
                    r = change(via, "PUT", "/admin/rollouts/ranker", new JsonObject().put("primary", "1.0.0")
                            .put("canary", "1.1.0").put("canary_weight", weight).put("window_s", 3600));
                    expected = new JsonObject().put("status", "running").put("canary_weight", weight);
                    did = "canary at " + weight + "% through replica " + via;
                } else {
                    r = change(via, "POST", "/admin/rollouts/ranker/rollback", new JsonObject().put("why", "churn"));
                    expected = new JsonObject().put("status", "rolled_back").put("canary_weight", 0.0);
                    did = "rollback through replica " + via;
                }
                assertThat(r.statusCode()).as("seed %d step %d: %s: %s", seed, step, did, r.bodyAsString()).isEqualTo(200);
                // mid-election a follower may still follow the previous leader and refuse the push (k < n): it takes
                // the change at its next sync, which the settling below checks
                assertThat(r.getHeader("x-weir-replicated")).as("seed %d step %d: %s", seed, step, did).matches("\\d+/\\d+");
            }
            if (!restart || rnd.nextBoolean()) { // half the restarts are followed at once by the next step, mid-election
                assertThat(settled(expected)).as("seed %d step %d after %s", seed, step, did).isEqualTo("ok");
            }
        }
        assertThat(settled(expected)).as("seed %d at the end", seed).isEqualTo("ok");
    }
}
