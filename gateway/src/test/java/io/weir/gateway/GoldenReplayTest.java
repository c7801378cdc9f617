package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The golden sets replayed over HTTP give the runtime's direct outputs: each expected value in golden.jsonl was
 * computed by ONNX Runtime on the artifact itself, and the gateway's answers must match within the model's
 * acceptance tolerance.
 */
@ExtendWith(VertxExtension.class)
class GoldenReplayTest {
    private static WeirServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = TestServers.start(null, Map.of());
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    /**
     * The golden replay checks values, not latency: a 429 or 504 (the machine was busy past a model's deadline, as a
     * shared 2-core CI box can be) is retried after a short pause, as a client honouring Retry-After would.
     */
    private static Future<io.vertx.ext.web.client.HttpResponse<io.vertx.core.buffer.Buffer>> sendRetryingTransient(
            Vertx vertx, WebClient client, String path, JsonObject request, int retries) {
        return client.post(path).sendJsonObject(request).compose(r -> {
            if ((r.statusCode() == 429 || r.statusCode() == 504) && retries > 0) {
                return vertx.timer(50).compose(t -> sendRetryingTransient(vertx, client, path, request, retries - 1));
            }
            return Future.succeededFuture(r);
        });
    }

    @ParameterizedTest(name = "{0}@{1}")
    @CsvSource({"ranker,1.0.0", "ranker,1.1.0", "moderation,1.0.0", "echo,1.0.0"})
    void goldenSetMatchesOverHttp(String model, String version, Vertx vertx, VertxTestContext tc) throws Exception {
        Path golden = server.registry().repository().root().resolve(model).resolve(version).resolve("golden.jsonl");
        List<JsonObject> lines = Files.readAllLines(golden).stream().filter(l -> !l.isBlank()).map(JsonObject::new).toList();
        assertThat(lines).hasSize(1000);
        double tolerance = server.registry().peek(new io.weir.runtime.ModelKey(model, version)).orElseThrow().config()
                .acceptance().maxAbsScoreDiff();
        WebClient client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(server.port()), new io.vertx.core.http.PoolOptions().setHttp1MaxSize(8));
        AtomicInteger compared = new AtomicInteger();
        Function<JsonObject, Future<Void>> replay = line -> {
            JsonObject request = line.getJsonObject("request").copy();
            JsonObject expected = line.getJsonObject("expected");
            String path = switch (model) {
                case "ranker" -> "/v1/rank:score";
                case "moderation" -> "/v1/moderate";
                default -> "/v2/models/" + model + "/versions/" + version + "/infer";
            };
            if (!model.equals("echo")) {
                request.put("model_version", version);
            }
            return sendRetryingTransient(vertx, client, path, request, 3).map(r -> {
                tc.verify(() -> {
                    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
                    JsonObject body = r.bodyAsJsonObject();
                    switch (model) {
                        case "ranker" -> {
                            JsonArray got = body.getJsonArray("scores");
                            JsonArray want = expected.getJsonArray("scores");
                            assertThat(got).hasSameSizeAs(want);
                            for (int i = 0; i < want.size(); i++) {
                                assertThat(got.getJsonObject(i).getString("item_id")).isEqualTo(want.getJsonObject(i).getString("item_id"));
                                assertThat(got.getJsonObject(i).getDouble("score"))
                                        .isCloseTo(want.getJsonObject(i).getDouble("score"), org.assertj.core.data.Offset.offset(tolerance));
                            }
                        }
                        case "moderation" -> {
                            assertThat(body.getDouble("score")).isCloseTo(expected.getDouble("score"), org.assertj.core.data.Offset.offset(tolerance));
                            assertThat(body.getString("label")).isEqualTo(expected.getString("label"));
                        }
                        default -> {
                            JsonArray outs = body.getJsonArray("outputs");
                            JsonArray want = expected.getJsonArray("outputs");
                            assertThat(outs).hasSameSizeAs(want);
                            for (int i = 0; i < want.size(); i++) {
                                JsonObject w = want.getJsonObject(i);
                                JsonObject g = outs.stream().map(o -> (JsonObject) o).filter(o -> o.getString("name").equals(w.getString("name")))
                                        .findFirst().orElseThrow();
                                assertThat(g.getJsonArray("shape")).isEqualTo(w.getJsonArray("shape"));
                                assertThat(g.getJsonArray("data").getList()).hasSameSizeAs(w.getJsonArray("data").getList());
                                for (int k = 0; k < w.getJsonArray("data").size(); k++) {
                                    Object gv = g.getJsonArray("data").getValue(k);
                                    Object wv = w.getJsonArray("data").getValue(k);
                                    if (wv instanceof Number wn) {
                                        assertThat(((Number) gv).doubleValue()).isEqualTo(wn.doubleValue());
                                    } else {
                                        assertThat(gv).isEqualTo(wv);
                                    }
                                }
                            }
                        }
                    }
                    compared.incrementAndGet();
                });
                return null;
            });
        };
        // Eight requests in flight at a time: enough to exercise concurrency without flooding a 2-core machine.
        Future<Void> chain = Future.succeededFuture();
        for (int start = 0; start < lines.size(); start += 8) {
            List<JsonObject> slice = lines.subList(start, Math.min(lines.size(), start + 8));
            chain = chain.compose(v -> Future.all(slice.stream().map(replay).toList()).mapEmpty());
        }
        chain.onComplete(tc.succeeding(v -> tc.verify(() -> {
            assertThat(compared.get()).isEqualTo(1000);
            tc.completeNow();
        })));
        assertThat(tc.awaitCompletion(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
    }
}
