package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
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

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The router wired into the gateway: a canary by flag and weight, sticky per user, visible in
 * {@code served_model_version} and {@code x-weir-variant}, forced by header, shadow-mirrored, rejected when invalid
 * (the old config keeps serving), rolled back through the admin API, and audited.
 */
@ExtendWith(VertxExtension.class)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RolloutApiTest {
    @TempDir
    static Path dir;
    private static WeirServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = TestServers.start(null, Map.of("audit.log", dir.resolve("audit.jsonl").toString()));
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private static WebClient client(Vertx vertx) {
        return WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(server.port()));
    }

    private static JsonObject rank(String user) {
        return HttpApiTest.rankRequest(3).put("user_id", user).put("request_id", "rq-" + user);
    }

    @Test
    @Order(1)
    void canaryByWeightIsStickyAndVisibleAndShadowIsMirrored(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        JsonObject rollout = new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", 50)
                .put("shadow", "1.1.0").put("shadow_sample_rate", 1.0).put("actor", "test").put("why", "try 1.1.0");
        client.put("/admin/rollouts/ranker").sendJsonObject(rollout).compose(r -> {
            tc.verify(() -> assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200));
            return Waves.run(60, 10, u -> client.post("/v1/rank:score").sendJsonObject(rank("user-" + u)));
        }).compose(first -> {
            Map<String, String> armOf = new HashMap<>();
            tc.verify(() -> {
                for (int u = 0; u < first.size(); u++) {
                    HttpResponse<Buffer> r = first.get(u);
                    assertThat(r.statusCode()).isEqualTo(200);
                    String arm = r.getHeader("x-weir-variant");
                    String version = r.bodyAsJsonObject().getString("served_model_version");
                    assertThat(arm).isIn("primary", "canary");
                    assertThat(version).isEqualTo(arm.equals("canary") ? "1.1.0" : "1.0.0");
                    armOf.put("user-" + u, arm);
                }
                // 60 users at 50%: both arms must be used (the chance of either being empty is 2^-59).
                assertThat(armOf.values()).contains("primary", "canary");
            });
            return Waves.run(60, 10, u -> client.post("/v1/rank:score").sendJsonObject(rank("user-" + u))).map(all -> {
                tc.verify(() -> {
                    for (int u = 0; u < 60; u++) {
                        assertThat(all.get(u).getHeader("x-weir-variant"))
                                .as("user-%d stays on its arm", u).isEqualTo(armOf.get("user-" + u));
                    }
                });
                return null;
            });
        }).compose(v -> awaitShadowComparisons(vertx, client, 40))
                .compose(v -> client.get("/metrics").send())
                .onComplete(tc.succeeding(metrics -> tc.verify(() -> {
                    String text = metrics.bodyAsString();
                    assertThat(text).containsPattern("weir_http_requests_seconds_count\\{[^}]*arm=\"canary\"[^}]*route=\"rank\"");
                    assertThat(text).containsPattern("weir_http_requests_seconds_count\\{[^}]*arm=\"primary\"[^}]*route=\"rank\"");
                    assertThat(text).contains("weir_router_requests_total{");
                    tc.completeNow();
                })));
    }

    /** Shadow work is asynchronous by design: poll its counters (bounded) until enough comparisons were made. */
    private static Future<Void> awaitShadowComparisons(Vertx vertx, WebClient client, int attemptsLeft) {
        return client.get("/admin/rollouts").send().compose(r -> {
            JsonObject shadow = r.bodyAsJsonObject().getJsonObject("shadow");
            if (shadow.getLong("compared") >= 20 && shadow.getLong("failed") == 0) {
                return Future.succeededFuture();
            }
            if (attemptsLeft == 0) {
                return Future.failedFuture(new AssertionError("shadow comparisons did not arrive: " + shadow));
            }
            return vertx.timer(100).compose(t -> awaitShadowComparisons(vertx, client, attemptsLeft - 1));
        });
    }

    @Test
    @Order(2)
    void forcedArmHeaderWinsAndABadValueIsRejected(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        Future.all(client.post("/v1/rank:score").putHeader("x-weir-variant", "canary").sendJsonObject(rank("forced")),
                        client.post("/v1/rank:score").putHeader("x-weir-variant", "primary").sendJsonObject(rank("forced")),
                        client.post("/v1/rank:score").putHeader("x-weir-variant", "blue").sendJsonObject(rank("forced")))
                .onComplete(tc.succeeding(all -> tc.verify(() -> {
                    HttpResponse<Buffer> canary = all.resultAt(0);
                    HttpResponse<Buffer> primary = all.resultAt(1);
                    HttpResponse<Buffer> bad = all.resultAt(2);
                    assertThat(canary.bodyAsJsonObject().getString("served_model_version")).isEqualTo("1.1.0");
                    assertThat(canary.getHeader("x-weir-variant")).isEqualTo("canary");
                    assertThat(primary.bodyAsJsonObject().getString("served_model_version")).isEqualTo("1.0.0");
                    assertThat(bad.statusCode()).isEqualTo(400);
                    assertThat(bad.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("INVALID_ARGUMENT");
                    tc.completeNow();
                })));
    }

    @Test
    @Order(3)
    void invalidChangesAreRejectedAndTheOldConfigKeepsServing(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        Future.all(client.put("/admin/rollouts/ranker").sendJsonObject(new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", 150)),
                        client.put("/admin/rollouts/ranker").sendJsonObject(new JsonObject().put("primary", "1.0.0").put("canary", "9.9.9").put("canary_weight", 5)))
                .compose(all -> {
                    tc.verify(() -> {
                        for (int i = 0; i < 2; i++) {
                            HttpResponse<Buffer> r = all.resultAt(i);
                            assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(400);
                            assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("INVALID_ARGUMENT");
                        }
                        assertThat(all.<HttpResponse<Buffer>>resultAt(0).bodyAsJsonObject().getJsonObject("error").getString("message")).contains("canary_weight");
                        assertThat(all.<HttpResponse<Buffer>>resultAt(1).bodyAsJsonObject().getJsonObject("error").getString("message")).contains("9.9.9");
                    });
                    return client.get("/admin/rollouts/ranker").send();
                })
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    JsonObject rollout = r.bodyAsJsonObject().getJsonObject("rollout");
                    assertThat(rollout.getString("canary")).isEqualTo("1.1.0");
                    assertThat(rollout.getDouble("canary_weight")).isEqualTo(50.0);
                    tc.completeNow();
                })));
    }

    @Test
    @Order(4)
    void rollbackSendsEveryoneToThePrimaryAndIsAudited(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        client.post("/admin/rollouts/ranker/rollback").sendJsonObject(new JsonObject().put("actor", "sre-on-call").put("why", "p95 regression"))
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
                        assertThat(r.bodyAsJsonObject().getDouble("canary_weight")).isEqualTo(0.0);
                        assertThat(r.bodyAsJsonObject().getString("status")).isEqualTo("rolled_back");
                    });
                    return Waves.run(30, 10, u -> client.post("/v1/rank:score").sendJsonObject(rank("user-" + u)));
                })
                .compose(all -> {
                    tc.verify(() -> {
                        for (int u = 0; u < 30; u++) {
                            HttpResponse<Buffer> r = all.get(u);
                            assertThat(r.getHeader("x-weir-variant")).isEqualTo("primary");
                            assertThat(r.bodyAsJsonObject().getString("served_model_version")).isEqualTo("1.0.0");
                        }
                    });
                    return client.get("/admin/rollouts/ranker/audit?limit=50").send();
                })
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    JsonArray audit = r.bodyAsJsonObject().getJsonArray("audit");
                    List<String> actions = new ArrayList<>();
                    audit.forEach(o -> actions.add(((JsonObject) o).getString("action") + ":" + ((JsonObject) o).getBoolean("accepted")));
                    assertThat(actions).contains("rollback:true");
                    assertThat(actions).anyMatch(a -> a.endsWith(":false"));
                    JsonObject last = audit.getJsonObject(audit.size() - 1);
                    assertThat(last.getString("actor")).isEqualTo("sre-on-call");
                    assertThat(last.getString("why")).isEqualTo("p95 regression");
                    assertThat(last.getJsonObject("previous").getDouble("canary_weight")).isEqualTo(50.0);
                    assertThat(dir.resolve("audit.jsonl")).exists();
                    tc.completeNow();
                })));
    }
}
