package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.Checkpoint;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.weir.runtime.demo.DemoRepository;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Load, unload and reload at run time through the admin API, the batching policy changed at run time, and a broken artifact that fails to load with a clear
 * message while the rest of the repository serves.
 */
@ExtendWith(VertxExtension.class)
class ModelLifecycleTest {
    @TempDir
    static Path dir;
    private static WeirServer server;

    @BeforeAll
    static void startServer() throws Exception {
        Path repo = DemoRepository.extractTo(dir.resolve("repo"));
        // Corrupt one artifact: moderation's model no longer matches its recorded sha256.
        Path onnx = repo.resolve("moderation/1.0.0/model.onnx");
        byte[] bytes = Files.readAllBytes(onnx);
        bytes[bytes.length / 2] ^= 0x5a;
        Files.write(onnx, bytes);
        server = TestServers.start(repo, Map.of());
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private static WebClient client(Vertx vertx) {
        return WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(server.port()), new io.vertx.core.http.PoolOptions().setHttp1MaxSize(16));
    }

    @Test
    void corruptedArtifactFailsWithAClearMessageAndOthersServe(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        Future.all(client.get("/admin/models").send(), client.post("/v1/moderate").sendJsonObject(new JsonObject().put("text", "hi")),
                client.post("/v1/rank:score").sendJsonObject(HttpApiTest.rankRequest(2)), client.get("/v2/health/ready").send())
                .onComplete(tc.succeeding(all -> tc.verify(() -> {
                    JsonObject admin = all.<io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer>>resultAt(0).bodyAsJsonObject();
                    JsonObject moderation = admin.getJsonArray("models").stream().map(o -> (JsonObject) o)
                            .filter(m -> m.getString("model").equals("moderation")).findFirst().orElseThrow();
                    assertThat(moderation.getString("state")).isEqualTo("FAILED");
                    assertThat(moderation.getString("message")).contains("checksum mismatch").contains("model.onnx");
                    var moderate = all.<io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer>>resultAt(1);
                    assertThat(moderate.statusCode()).isEqualTo(503);
                    assertThat(moderate.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("UNAVAILABLE");
                    assertThat(moderate.getHeader("retry-after")).isNotNull();
                    assertThat(all.<io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer>>resultAt(2).statusCode()).isEqualTo(200);
                    assertThat(all.<io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer>>resultAt(3).statusCode()).isEqualTo(200);
                    tc.completeNow();
                })));
    }

    @Test
    void reloadUnderLoadFailsNoInFlightRequest(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        int requests = 200;
        Checkpoint reloaded = tc.checkpoint();
        // Sixteen requests in flight at all times; the reload starts while the fourth wave is out.
        Waves.run(requests, 16, i -> {
            if (i == 48) {
                client.post("/admin/models/ranker/versions/1.1.0/reload").send().onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
                    assertThat(r.bodyAsJsonObject().getString("state")).isEqualTo("READY");
                    reloaded.flag();
                })));
            }
            return client.post("/v1/rank:score").sendJsonObject(HttpApiTest.rankRequest(20).put("model_version", "1.1.0"));
        }).onComplete(tc.succeeding(all -> tc.verify(() -> {
            assertThat(all).hasSize(requests);
            assertThat(all).allSatisfy(r -> assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200));
            tc.completeNow();
        })));
    }

    @Test
    void unloadThenLoadAgain(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        JsonObject pinned = HttpApiTest.rankRequest(1).put("model_version", "1.0.0");
        client.post("/admin/models/ranker/versions/1.0.0/unload").send()
                .compose(r -> {
                    tc.verify(() -> assertThat(r.bodyAsJsonObject().getString("state")).isEqualTo("UNLOADED"));
                    return client.post("/v1/rank:score").sendJsonObject(pinned);
                })
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).isEqualTo(404);
                        assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message")).contains("not loaded");
                    });
                    return client.post("/admin/models/ranker/versions/1.0.0/load").send();
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.bodyAsJsonObject().getString("state")).isEqualTo("READY"));
                    return client.post("/v1/rank:score").sendJsonObject(pinned);
                })
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(r.bodyAsJsonObject().getString("served_model_version")).isEqualTo("1.0.0");
                    tc.completeNow();
                })));
    }

    @Test
    void loadingAVersionTheRepositoryLacksIsNotFound(Vertx vertx, VertxTestContext tc) {
        client(vertx).post("/admin/models/ranker/versions/4.0.0/load").send().onComplete(tc.succeeding(r -> tc.verify(() -> {
            assertThat(r.statusCode()).isEqualTo(404);
            assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("NOT_FOUND");
            tc.completeNow();
        })));
    }

    @Test
    void reloadingTheCorruptedVersionReportsTheChecksumFailure(Vertx vertx, VertxTestContext tc) {
        client(vertx).post("/admin/models/moderation/versions/1.0.0/load").send().onComplete(tc.succeeding(r -> tc.verify(() -> {
            assertThat(r.statusCode()).isEqualTo(400);
            assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message")).contains("checksum mismatch");
            tc.completeNow();
        })));
    }

    @Test
    void theBatchingPolicyChangesAtRunTimeAndABadOneChangesNothing(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        String path = "/admin/models/ranker/batching";
        JsonObject fixed = new JsonObject().put("policy", "fixed").put("max_queue_delay_us", 1500);
        client.put(path).sendJsonObject(fixed)
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
                        JsonObject body = r.bodyAsJsonObject();
                        assertThat(body.getJsonObject("override")).isEqualTo(fixed);
                        assertThat(body.getJsonObject("versions").getMap()).isNotEmpty()
                                .allSatisfy((version, policy) -> assertThat(policy).isEqualTo("fixed(max_rows=256, delay_us=1500, preferred=[])"));
                    });
                    return client.post("/v1/rank:score").sendJsonObject(HttpApiTest.rankRequest(20));
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200));
                    return client.put(path).sendJsonObject(new JsonObject().put("policy", "fixed").put("max_queue_delay_us", -5));
                })
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).isEqualTo(400);
                        assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("INVALID_ARGUMENT");
                        assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("message")).contains("max_queue_delay_us");
                    });
                    return client.get(path).send();
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.bodyAsJsonObject().getJsonObject("override")).as("unchanged").isEqualTo(fixed));
                    return client.put("/admin/models/nosuchmodel/batching").sendJsonObject(fixed);
                })
                .compose(r -> {
                    tc.verify(() -> assertThat(r.statusCode()).isEqualTo(404));
                    return client.delete(path).send();
                })
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(r.bodyAsJsonObject().getValue("override")).isNull();
                    assertThat(r.bodyAsJsonObject().getJsonObject("versions").getMap())
                            .allSatisfy((version, policy) -> assertThat((String) policy).startsWith("adaptive("));
                    tc.completeNow();
                })));
    }

    @Test
    void theBatchersOwnPercentilesAreServedPerVersionAndBackendAndScrapedAsHistograms(Vertx vertx, VertxTestContext tc) {
        WebClient client = client(vertx);
        JsonObject pinned = HttpApiTest.rankRequest(10).put("model_version", "1.0.0");
        Future<?> sent = Future.succeededFuture();
        for (int i = 0; i < 5; i++) {
            sent = sent.compose(x -> client.post("/v1/rank:score").sendJsonObject(pinned).map(r -> {
                tc.verify(() -> assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200));
                return r;
            }));
        }
        sent.compose(x -> client.get("/admin/models/ranker/latency").send())
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
                        JsonObject body = r.bodyAsJsonObject();
                        assertThat(body.getString("model")).isEqualTo("ranker");
                        JsonObject cpu = body.getJsonObject("versions").getJsonObject("1.0.0").getJsonObject("cpu");
                        assertThat(cpu.getDouble("window_ms")).isPositive();
                        for (String stage : new String[] {"queue", "compute", "total"}) {
                            JsonObject s = cpu.getJsonObject(stage);
                            assertThat(s.getLong("count")).as(stage).isPositive();
                            assertThat(s.getDouble("p95_ms")).as(stage).isGreaterThanOrEqualTo(s.getDouble("p50_ms"));
                            assertThat(s.getDouble("max_ms")).as(stage).isGreaterThanOrEqualTo(s.getDouble("p99_ms"));
                        }
                        assertThat(cpu.getJsonObject("queue").getLong("count")).as("every request pinned to 1.0.0")
                                .isGreaterThanOrEqualTo(5);
                        assertThat(cpu.getJsonObject("total").getDouble("p50_ms"))
                                .isGreaterThanOrEqualTo(cpu.getJsonObject("queue").getDouble("p50_ms"));
                    });
                    return client.get("/admin/models/nosuchmodel/latency").send();
                })
                .compose(r -> {
                    tc.verify(() -> {
                        assertThat(r.statusCode()).isEqualTo(404);
                        assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("NOT_FOUND");
                    });
                    return client.get("/metrics").send();
                })
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    String metrics = r.bodyAsString();
                    for (String family : new String[] {"weir_batcher_queue_wait_seconds_bucket{", "weir_batcher_compute_seconds_bucket{"}) {
                        assertThat(metrics.lines().filter(l -> l.startsWith(family) && l.contains("model=\"ranker\"")
                                && l.contains("version=\"1.0.0\"") && l.contains("le=\"+Inf\"")))
                                .as(family).singleElement().satisfies(l -> assertThat(Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).isPositive());
                    }
                    tc.completeNow();
                })));
    }
}
