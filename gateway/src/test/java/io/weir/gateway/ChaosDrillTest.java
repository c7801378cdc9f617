package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Faults injected into a live server through the chaos admin API: a slow backend makes the batcher shed (429 with
 * Retry-After) or expire (504) requests, a failing one answers INTERNAL without detail, and every request gets exactly
 * one answer in the error table's shape. Once the fault is cleared the server serves again.
 */
@ExtendWith(VertxExtension.class)
class ChaosDrillTest {
    @TempDir
    static Path dir;
    private static WeirServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = TestServers.start(null, Map.of("chaos.enabled", true, "queue.capacity", 4, "cpu.threads", 1,
                "audit.log", dir.resolve("audit.jsonl").toString()));
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private WebClient client;

    private WebClient client(Vertx vertx) {
        client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(server.port()));
        return client;
    }

    @AfterEach
    void clearFaults(Vertx vertx) throws Exception {
        WebClient c = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(server.port()));
        for (String m : List.of("ranker", "moderation", "echo", "ranker?version=1.1.0")) {
            c.delete("/admin/chaos/faults/" + m).send().toCompletionStage().toCompletableFuture().get();
        }
    }

    private static Future<List<HttpResponse<Buffer>>> wave(int n, Supplier<Future<HttpResponse<Buffer>>> call) {
        List<Future<HttpResponse<Buffer>>> calls = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            calls.add(call.get());
        }
        return Future.all(calls).map(all -> all.list());
    }

    private static void assertErrorShape(HttpResponse<Buffer> r) {
        JsonObject body = r.bodyAsJsonObject();
        assertThat(body.fieldNames()).containsExactlyInAnyOrder("error", "request_id");
        assertThat(body.getJsonObject("error").getString("message")).doesNotContain("Exception").doesNotContain("\tat ");
    }

    @Test
    void aSlowBackendIsShedWithRetryAfterOrExpiredNeverFailedAndRecovers(Vertx vertx, VertxTestContext tc) {
        WebClient c = client(vertx);
        JsonObject slow = new JsonObject().put("latency_ms", 250);
        c.put("/admin/chaos/faults/ranker").sendJsonObject(slow)
                .compose(r -> wave(24, () -> c.post("/v1/rank:score").sendJsonObject(HttpApiTest.rankRequest(5))))
                .compose(responses -> {
                    tc.verify(() -> {
                        assertThat(responses).hasSize(24);
                        int shed = 0;
                        int expired = 0;
                        for (HttpResponse<Buffer> r : responses) {
                            assertThat(r.statusCode()).as(r.bodyAsString()).isIn(200, 429, 504);
                            if (r.statusCode() == 429) {
                                shed++;
                                assertThat(r.getHeader("retry-after")).isNotNull();
                                assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("RESOURCE_EXHAUSTED");
                                assertErrorShape(r);
                            } else if (r.statusCode() == 504) {
                                expired++;
                                assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("DEADLINE_EXCEEDED");
                                assertErrorShape(r);
                            }
                        }
                        // 24 requests against a ring of 4 and one thread held 250 ms per batch: most cannot be served in time.
                        assertThat(shed + expired).isGreaterThan(0);
                    });
                    return c.delete("/admin/chaos/faults/ranker").send();
                })
                .compose(r -> untilServed(vertx, c, 50))
                .onComplete(tc.succeedingThenComplete());
    }

    /** After a fault clears, the server must serve again (bounded polling: the fault's backlog drains first). */
    private static Future<Void> untilServed(Vertx vertx, WebClient c, int attemptsLeft) {
        return c.post("/v1/rank:score").sendJsonObject(HttpApiTest.rankRequest(5)).compose(r -> {
            if (r.statusCode() == 200) {
                return Future.succeededFuture();
            }
            if (attemptsLeft == 0) {
                return Future.failedFuture(new AssertionError("still " + r.statusCode() + " after the fault was cleared: " + r.bodyAsString()));
            }
            return vertx.timer(100).compose(t -> untilServed(vertx, c, attemptsLeft - 1));
        });
    }

    @Test
    void aFailingBackendAnswersInternalWithoutDetail(Vertx vertx, VertxTestContext tc) {
        WebClient c = client(vertx);
        c.put("/admin/chaos/faults/moderation").sendJsonObject(new JsonObject().put("failure_rate", 1.0))
                .compose(r -> wave(3, () -> c.post("/v1/moderate").sendJsonObject(new JsonObject().put("text", "hello"))))
                .compose(responses -> {
                    tc.verify(() -> {
                        for (HttpResponse<Buffer> r : responses) {
                            assertThat(r.statusCode()).isEqualTo(500);
                            assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("INTERNAL");
                            assertErrorShape(r);
                            assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message")).doesNotContain("chaos");
                        }
                    });
                    return c.delete("/admin/chaos/faults/moderation").send();
                })
                .compose(r -> c.post("/v1/moderate").sendJsonObject(new JsonObject().put("text", "hello")))
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(200);
                    tc.completeNow();
                })));
    }

    @Test
    void badFaultsAreRejected(Vertx vertx, VertxTestContext tc) {
        WebClient c = client(vertx);
        c.put("/admin/chaos/faults/echo").sendJsonObject(new JsonObject().put("failure_rate", 2))
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).isEqualTo(400);
                        assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message")).contains("failure_rate");
                    });
                    return c.put("/admin/chaos/faults/echo").sendJsonObject(new JsonObject().put("failure_rate", 1)
                            .put("version", "latest"));
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message"))
                            .contains("version must be a semantic version"));
                    return c.put("/admin/chaos/faults/*").sendJsonObject(new JsonObject().put("failure_rate", 1)
                            .put("version", "1.0.0"));
                })
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).isEqualTo(400);
                        assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message")).contains("not to '*'");
                    });
                    return c.put("/admin/chaos/faults/ranker@1.0.0").sendJsonObject(new JsonObject().put("failure_rate", 1));
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message"))
                            .contains("a plain model name or '*'"));
                    return c.put("/admin/chaos/faults/echo").sendJsonObject(new JsonObject().put("failure_rate", 1).put("backend", 5));
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message"))
                            .contains("backend must be"));
                    return c.get("/admin/chaos/faults").send();
                })
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.bodyAsJsonObject().getJsonObject("faults")).as("nothing refused was set").isEmpty();
                    tc.completeNow();
                })));
    }

    @Test
    void aFaultOnOneVersionLeavesTheOthersServing(Vertx vertx, VertxTestContext tc) {
        WebClient c = client(vertx);
        JsonObject pinnedOld = HttpApiTest.rankRequest(2).put("model_version", "1.0.0");
        JsonObject pinnedNew = HttpApiTest.rankRequest(2).put("model_version", "1.1.0");
        c.put("/admin/chaos/faults/ranker").sendJsonObject(new JsonObject().put("failure_rate", 1.0).put("version", "1.1.0"))
                .compose(r -> c.post("/v1/rank:score").sendJsonObject(pinnedNew))
                .compose(r -> {
                    tc.verify(() -> assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(500));
                    return c.post("/v1/rank:score").sendJsonObject(pinnedOld);
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200));
                    return c.delete("/admin/chaos/faults/ranker?version=1.1.0").send();
                })
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.bodyAsJsonObject().getJsonObject("faults")).isEmpty();
                        assertThat(r.bodyAsJsonObject().getBoolean("removed")).isTrue();
                    });
                    return c.delete("/admin/chaos/faults/ranker?version=1.1.0&backend=%20").send();
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.bodyAsJsonObject().getBoolean("removed")).as("nothing left to remove").isFalse());
                    return c.post("/v1/rank:score").sendJsonObject(pinnedNew);
                })
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(200);
                    tc.completeNow();
                })));
    }
}
