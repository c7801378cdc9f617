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

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The edge's shed drill through the chaos admin API: with a fraction set, that share of inference requests is answered
 * 429 RESOURCE_EXHAUSTED with Retry-After and the request's own id, counted as the edge's sheds, without being run;
 * a fraction outside 0 to 1 is refused and changes nothing; cleared, everything is served again. Without
 * {@code chaos.enabled} the drill's routes do not exist.
 */
@ExtendWith(VertxExtension.class)
class ShedDrillApiTest {
    private static WeirServer server;
    private static WeirServer noChaos;

    @BeforeAll
    static void startServers() throws Exception {
        server = TestServers.start(null, Map.of("chaos.enabled", true));
        noChaos = TestServers.start(null, Map.of());
    }

    @AfterAll
    static void stopServers() {
        server.close();
        noChaos.close();
    }

    @AfterEach
    void clearDrill(Vertx vertx) throws Exception {
        client(vertx, server).delete("/admin/chaos/shed").send().toCompletionStage().toCompletableFuture().get();
    }

    private static WebClient client(Vertx vertx, WeirServer s) {
        return WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(s.port()));
    }

    private static Future<HttpResponse<Buffer>> moderate(WebClient c, String id) {
        return c.post("/v1/moderate").sendJsonObject(new JsonObject().put("text", "thanks, that helped").put("request_id", id));
    }

    private static Future<HttpResponse<Buffer>> putShed(WebClient c, Object fraction) {
        return c.put("/admin/chaos/shed").sendJsonObject(new JsonObject().put("fraction", fraction));
    }

    /** {@code n} moderation requests at once, ids {@code prefix-0} on. */
    private static Future<List<HttpResponse<Buffer>>> moderateMany(WebClient c, int n, String prefix) {
        List<Future<HttpResponse<Buffer>>> calls = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            calls.add(moderate(c, prefix + i));
        }
        return Future.all(calls).map(all -> all.<HttpResponse<Buffer>>list());
    }

    private static double shedCount(String route) {
        var counter = server.meters().find("weir.http.shed").tag("route", route).counter();
        return counter == null ? 0 : counter.count();
    }

    @Test
    void everyInferenceRequestIsShedAtOneAndServedAgainOnceCleared(Vertx vertx, VertxTestContext tc) {
        WebClient c = client(vertx, server);
        double before = shedCount("moderate") + shedCount("rank");
        putShed(c, 1)
                .compose(put -> {
                    tc.verify(() -> assertThat(put.bodyAsJsonObject().getDouble("fraction")).isEqualTo(1.0));
                    return Future.all(moderateMany(c, 10, "drill-"),
                                    c.post("/v1/rank:score").sendJsonObject(HttpApiTest.rankRequest(5).put("request_id", "drill-rank")))
                            .map(both -> {
                                List<HttpResponse<Buffer>> all = new ArrayList<>(both.<List<HttpResponse<Buffer>>>resultAt(0));
                                all.add(both.resultAt(1));
                                return all;
                            });
                })
                .compose(shed -> {
                    tc.verify(() -> {
                        for (HttpResponse<Buffer> r : shed) {
                            assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(429);
                            assertThat(r.getHeader("retry-after")).isEqualTo("1");
                            JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
                            assertThat(error.getString("code")).isEqualTo("RESOURCE_EXHAUSTED");
                            assertThat(error.getString("message")).contains("chaos drill");
                            assertThat(r.bodyAsJsonObject().getString("request_id")).startsWith("drill-");
                        }
                        assertThat(shedCount("moderate") + shedCount("rank") - before).isEqualTo(11);
                    });
                    return c.get("/admin/chaos/shed").send();
                })
                .compose(get -> {
                    tc.verify(() -> assertThat(get.bodyAsJsonObject().getDouble("fraction")).isEqualTo(1.0));
                    return c.delete("/admin/chaos/shed").send();
                })
                .compose(deleted -> {
                    tc.verify(() -> assertThat(deleted.bodyAsJsonObject().getBoolean("removed")).isTrue());
                    return moderate(c, "after");
                })
                .onComplete(tc.succeeding(after -> tc.verify(() -> {
                    assertThat(after.statusCode()).as(after.bodyAsString()).isEqualTo(200);
                    assertThat(after.bodyAsJsonObject().getString("request_id")).isEqualTo("after");
                    tc.completeNow();
                })));
    }

    @Test
    void aShareShedsSomeAndServesTheRest(Vertx vertx, VertxTestContext tc) {
        WebClient c = client(vertx, server);
        putShed(c, 0.5)
                .compose(put -> moderateMany(c, 200, "half-"))
                .onComplete(tc.succeeding(all -> tc.verify(() -> {
                    long shed = all.stream().filter(r -> r.statusCode() == 429).count();
                    long served = all.stream().filter(r -> r.statusCode() == 200).count();
                    assertThat(shed + served).as("every request answered 200 or 429").isEqualTo(200);
                    // Binomial(200, 0.5): 100 with a standard deviation of about 7; 50 either side is seven of them.
                    assertThat(shed).isBetween(50L, 150L);
                    tc.completeNow();
                })));
    }

    @Test
    void aFractionOutsideZeroToOneIsRefusedAndChangesNothing(Vertx vertx, VertxTestContext tc) {
        WebClient c = client(vertx, server);
        putShed(c, 0.25)
                .compose(ok -> putShed(c, 1.5))
                .compose(tooMuch -> {
                    tc.verify(() -> {
                        assertThat(tooMuch.statusCode()).isEqualTo(400);
                        assertThat(tooMuch.bodyAsJsonObject().getJsonObject("error").getString("message"))
                                .contains("between 0 and 1");
                    });
                    return putShed(c, "half");
                })
                .compose(notANumber -> {
                    tc.verify(() -> assertThat(notANumber.statusCode()).isEqualTo(400));
                    return c.get("/admin/chaos/shed").send();
                })
                .onComplete(tc.succeeding(get -> tc.verify(() -> {
                    assertThat(get.bodyAsJsonObject().getDouble("fraction")).isEqualTo(0.25);
                    tc.completeNow();
                })));
    }

    @Test
    void withoutChaosTheDrillIsNotThere(Vertx vertx, VertxTestContext tc) {
        WebClient c = client(vertx, noChaos);
        putShed(c, 1)
                .compose(put -> {
                    tc.verify(() -> assertThat(put.statusCode()).isEqualTo(404));
                    return moderate(c, "plain");
                })
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(200);
                    tc.completeNow();
                })));
    }
}
