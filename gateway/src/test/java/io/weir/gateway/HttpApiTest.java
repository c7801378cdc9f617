package io.weir.gateway;

import io.micrometer.core.instrument.Gauge;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** Every endpoint over real HTTP against a real server on the built-in demo repository, bad inputs included. */
@ExtendWith(VertxExtension.class)
class HttpApiTest {
    private static WeirServer server;
    private WebClient client;

    @BeforeAll
    static void startServer() throws Exception {
        server = TestServers.start(null, Map.of());
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @BeforeEach
    void client(Vertx vertx) {
        client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(server.port()));
    }

    static JsonObject rankRequest(int candidates) {
        JsonArray c = new JsonArray();
        for (int i = 0; i < candidates; i++) {
            c.add(new JsonObject().put("item_id", "item-" + i)
                    .put("features", new JsonObject().put("price", 10.0 + i).put("category", i % 2 == 0 ? "books" : "toys")));
        }
        return new JsonObject().put("user_id", "user-7").put("context", new JsonObject().put("locale", "en-US").put("ts", "2026-11-26T10:15:00Z"))
                .put("candidates", c).put("request_id", "req-rank-1");
    }

    @Test
    void rankScoresEveryCandidateWithTheContractFields(VertxTestContext tc) {
        client.post("/v1/rank:score").sendJsonObject(rankRequest(3)).onComplete(tc.succeeding(r -> tc.verify(() -> {
            assertThat(r.statusCode()).isEqualTo(200);
            JsonObject body = r.bodyAsJsonObject();
            assertThat(body.fieldNames()).containsExactlyInAnyOrder("scores", "served_model_version", "latency_ms", "request_id");
            JsonArray scores = body.getJsonArray("scores");
            assertThat(scores).hasSize(3);
            for (int i = 0; i < 3; i++) {
                assertThat(scores.getJsonObject(i).getString("item_id")).isEqualTo("item-" + i);
                assertThat(scores.getJsonObject(i).getDouble("score")).isBetween(0.0, 1.0);
            }
            assertThat(body.getString("served_model_version")).isEqualTo(server.registry().latestReady("ranker").orElseThrow());
            assertThat(body.getString("request_id")).isEqualTo("req-rank-1");
            assertThat(body.getDouble("latency_ms")).isPositive();
            assertThat(r.getHeader("x-weir-variant")).isEqualTo("primary");
            tc.completeNow();
        })));
    }

    /**
     * Rank bodies are read by streaming once a loop knows the contract (RankBodyReader); a body the reader leaves to
     * the tree path (here a duplicate key, which the tree resolves to its last value) must score the same.
     */
    @Test
    void rankBodiesAreStreamedAndScoreAsTheParsedTreeScoresThem(VertxTestContext tc) {
        String plain = rankRequest(6).encode();
        String duplicateKey = "{\"user_id\":\"someone-else\"," + plain.substring(1);   // the tree keeps user-7
        List<String> bodies = List.of(plain, plain, duplicateKey, plain, plain, duplicateKey, plain, plain);
        List<JsonArray> scores = new ArrayList<>();
        double[] before = new double[2];
        Future<?> chain = client.get("/metrics").send().map(r -> {
            before[0] = rankBodyReads(r.bodyAsString(), "stream");
            before[1] = rankBodyReads(r.bodyAsString(), "tree");
            return null;
        });
        for (String body : bodies) {   // one after another on one connection, so on one event loop
            chain = chain.compose(v -> client.post("/v1/rank:score").putHeader("content-type", "application/json")
                    .sendBuffer(Buffer.buffer(body))).map(r -> {
                        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
                        scores.add(r.bodyAsJsonObject().getJsonArray("scores"));
                        return null;
                    });
        }
        chain.compose(v -> client.get("/metrics").send()).onComplete(tc.succeeding(r -> tc.verify(() -> {
            assertThat(scores).hasSize(bodies.size()).allSatisfy(s -> assertThat(s).isEqualTo(scores.get(0)));
            // A loop's first rank body may be parsed (no contract known yet); the duplicates always are.
            double streamed = rankBodyReads(r.bodyAsString(), "stream") - before[0];
            double parsed = rankBodyReads(r.bodyAsString(), "tree") - before[1];
            assertThat(streamed).isBetween(4.0, 6.0);   // 4 if the pool opened a second connection on another loop
            assertThat(parsed).isEqualTo(bodies.size() - streamed);
            tc.completeNow();
        })));
    }

    private static double rankBodyReads(String scrape, String path) {
        return scrape.lines().filter(l -> l.startsWith("weir_http_rank_body_reads_total{") && l.contains("path=\"" + path + "\""))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    @Test
    void rankHonoursAnExplicitModelVersion(VertxTestContext tc) {
        client.post("/v1/rank:score").sendJsonObject(rankRequest(2).put("model_version", "1.0.0"))
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(r.bodyAsJsonObject().getString("served_model_version")).isEqualTo("1.0.0");
                    tc.completeNow();
                })));
    }

    @Test
    void moderateReturnsScoreAndLabelAndGeneratesARequestId(VertxTestContext tc) {
        client.post("/v1/moderate").sendJsonObject(new JsonObject().put("text", "thanks, this was really helpful"))
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(200);
                    JsonObject body = r.bodyAsJsonObject();
                    assertThat(body.getDouble("score")).isBetween(0.0, 1.0);
                    assertThat(body.getString("label")).isIn("toxic", "ok");
                    assertThat(body.getString("request_id")).isNotBlank();
                    assertThat(r.getHeader("x-request-id")).isEqualTo(body.getString("request_id"));
                    assertThat(body.getString("served_model_version")).isEqualTo("1.0.0");
                    tc.completeNow();
                })));
    }

    /**
     * A body's request_id is echoed in the x-request-id header, so it is held to the header's rule (at most 128
     * printable ASCII characters): one that breaks it is replaced by a generated id, on answers and errors alike,
     * where a line break used to make Vert.x refuse the header and the request go unanswered.
     */
    static Stream<Arguments> bodyRequestIds() {
        String fits = "r".repeat(128);
        return Stream.of(
                Arguments.of("/v1/rank:score", rankRequest(2).put("request_id", "a\nb"), 200, null),
                Arguments.of("/v1/rank:score", rankRequest(2).put("request_id", "a\nb").put("model_version", "9.9.9"), 404, null),
                Arguments.of("/v1/rank:score", rankRequest(2).put("request_id", "a\u0000b"), 200, null),
                Arguments.of("/v1/rank:score", rankRequest(2).put("request_id", "r-\u00e9"), 200, null),
                Arguments.of("/v1/rank:score", rankRequest(2).put("request_id", fits + "r"), 200, null),
                Arguments.of("/v1/rank:score", rankRequest(2).put("request_id", fits), 200, fits),
                Arguments.of("/v1/moderate", new JsonObject().put("text", "hello").put("request_id", "a\rb"), 200, null),
                Arguments.of("/v1/moderate", new JsonObject().put("text", 42).put("request_id", "a\nb"), 400, null),
                Arguments.of("/v1/moderate", new JsonObject().put("text", "hello").put("request_id", fits + "r"), 200, null));
    }

    @ParameterizedTest
    @MethodSource("bodyRequestIds")
    void aBodyRequestIdIsEchoedOnlyIfAHeaderMayCarryIt(String path, JsonObject body, int status, String expectedId,
                                                       VertxTestContext tc) {
        // Sent twice on one connection: a loop's first rank body is parsed into a tree, the next one streamed.
        client.post(path).sendJsonObject(body).compose(first -> {
            tc.verify(() -> assertEchoes(first, status, expectedId));
            return client.post(path).sendJsonObject(body);
        }).onComplete(tc.succeeding(second -> tc.verify(() -> {
            assertEchoes(second, status, expectedId);
            tc.completeNow();
        })));
    }

    private static void assertEchoes(HttpResponse<Buffer> r, int status, String expectedId) {
        assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
        assertThat(r.getHeader("content-type")).isEqualTo("application/json");
        String id = r.bodyAsJsonObject().getString("request_id");
        assertThat(r.getHeader("x-request-id")).isEqualTo(id);
        if (expectedId != null) {
            assertThat(id).isEqualTo(expectedId);
        } else {
            assertThat(id).matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
        }
    }

    /** A timeout past the model's budget means the budget, however long: Long.MAX_VALUE is a common "no limit". */
    @Test
    void aTimeoutLongerThanAnyBudgetMeansTheBudget(VertxTestContext tc) {
        String max = Long.toString(Long.MAX_VALUE);
        Future.all(
                client.post("/v1/rank:score").putHeader("x-weir-timeout-ms", max).sendJsonObject(rankRequest(2)),
                client.post("/v1/rank:score").putHeader("content-type", "application/json")
                        .sendBuffer(Buffer.buffer(rankRequest(2).encode().replace("{", "{\"timeout_ms\":1e300,"))),
                client.post("/v1/moderate").putHeader("x-weir-timeout-ms", max).sendJsonObject(new JsonObject().put("text", "hi")),
                client.post("/v2/models/echo/infer").putHeader("x-weir-timeout-ms", max).sendBuffer(Buffer.buffer(echoWith("1")))
        ).onComplete(tc.succeeding(all -> tc.verify(() -> {
            for (int i = 0; i < 4; i++) {
                HttpResponse<Buffer> r = all.resultAt(i);
                assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(200);
            }
            tc.completeNow();
        })));
    }

    @Test
    void deprecatedVersionAnswersWithDeprecationAndSunset(VertxTestContext tc) {
        client.post("/v1beta1/moderate").sendJsonObject(new JsonObject().put("text", "hello"))
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(r.getHeader("deprecation")).startsWith("@");
                    assertThat(r.getHeader("sunset")).contains("GMT");
                    assertThat(r.getHeader("link")).contains("</v1/moderate>");
                    tc.completeNow();
                })));
    }

    @Test
    void v2ServerEndpoints(VertxTestContext tc) {
        Future.all(client.get("/v2").send(), client.get("/v2/health/live").send(), client.get("/v2/health/ready").send(),
                client.get("/v2/models/ranker").send(), client.get("/v2/models/ranker/versions/1.0.0/ready").send(),
                client.get("/v2/models/echo/ready").send()).onComplete(tc.succeeding(all -> tc.verify(() -> {
                    List<HttpResponse<Buffer>> rs = all.list();
                    assertThat(rs).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(200));
                    assertThat(rs.get(0).bodyAsJsonObject().getString("name")).isEqualTo("weir");
                    assertThat(rs.get(1).bodyAsJsonObject().getBoolean("live")).isTrue();
                    assertThat(rs.get(2).bodyAsJsonObject().getBoolean("ready")).isTrue();
                    JsonObject meta = rs.get(3).bodyAsJsonObject();
                    assertThat(meta.getString("name")).isEqualTo("ranker");
                    assertThat(meta.getJsonArray("versions").getList()).contains("1.0.0", "1.1.0");
                    assertThat(meta.getJsonArray("inputs").getJsonObject(0).getString("datatype")).isEqualTo("FP32");
                    assertThat(meta.getJsonArray("inputs").getJsonObject(0).getJsonArray("shape").getLong(0)).isEqualTo(-1L);
                    assertThat(rs.get(4).bodyAsJsonObject().getBoolean("ready")).isTrue();
                    tc.completeNow();
                })));
    }

    @Test
    void v2InferRoundTripsFp32Int64AndBytes(VertxTestContext tc) {
        JsonArray x = new JsonArray();
        for (int i = 0; i < 32; i++) {
            x.add(i * 0.5);
        }
        JsonObject req = new JsonObject().put("id", "v2-1").put("inputs", new JsonArray()
                .add(new JsonObject().put("name", "x").put("datatype", "FP32").put("shape", new JsonArray().add(2).add(16)).put("data", x))
                .add(new JsonObject().put("name", "ids").put("datatype", "INT64").put("shape", new JsonArray().add(2).add(4))
                        .put("data", new JsonArray().add(new JsonArray().add(1).add(2).add(3).add(4)).add(new JsonArray().add(5).add(6).add(7).add(9_000_000_000L))))
                .add(new JsonObject().put("name", "text").put("datatype", "BYTES").put("shape", new JsonArray().add(2).add(1))
                        .put("data", new JsonArray().add("héllo").add("wörld"))));
        client.post("/v2/models/echo/infer").sendJsonObject(req).onComplete(tc.succeeding(r -> tc.verify(() -> {
            assertThat(r.statusCode()).isEqualTo(200);
            JsonObject body = r.bodyAsJsonObject();
            assertThat(body.getString("model_name")).isEqualTo("echo");
            assertThat(body.getString("id")).isEqualTo("v2-1");
            Map<String, JsonObject> outs = new java.util.HashMap<>();
            body.getJsonArray("outputs").forEach(o -> outs.put(((JsonObject) o).getString("name"), (JsonObject) o));
            assertThat(outs.get("x_out").getJsonArray("data").getList()).hasSize(32);
            assertThat(outs.get("x_out").getJsonArray("data").getDouble(31)).isEqualTo(15.5);
            assertThat(outs.get("ids_out").getJsonArray("data").getLong(7)).isEqualTo(9_000_000_000L);
            assertThat(outs.get("text_out").getJsonArray("data").getList()).containsExactly("héllo", "wörld");
            assertThat(outs.get("text_out").getString("datatype")).isEqualTo("BYTES");
            assertThat(outs.get("ids_out").getJsonArray("shape").getList()).containsExactly(2, 4);
            tc.completeNow();
        })));
    }

    @Test
    void h2cPriorKnowledgeWorks(Vertx vertx, VertxTestContext tc) {
        WebClient h2 = WebClient.create(vertx, new WebClientOptions().setProtocolVersion(HttpVersion.HTTP_2)
                .setHttp2ClearTextUpgrade(false).setDefaultHost("127.0.0.1").setDefaultPort(server.port()));
        h2.post("/v1/rank:score").sendJsonObject(rankRequest(5)).onComplete(tc.succeeding(r -> tc.verify(() -> {
            assertThat(r.version()).isEqualTo(HttpVersion.HTTP_2);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.bodyAsJsonObject().getJsonArray("scores")).hasSize(5);
            tc.completeNow();
        })));
    }

    @Test
    void metricsAreExposedInPrometheusFormat(VertxTestContext tc) {
        client.post("/v1/moderate").sendJsonObject(new JsonObject().put("text", "count me"))
                .compose(r -> client.get("/metrics").send())
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).isEqualTo(200);
                    String text = r.bodyAsString();
                    assertThat(text).contains("weir_http_requests_seconds_count{");
                    assertThat(text).containsPattern("weir_http_requests_seconds_count\\{[^}]*code=\"OK\"[^}]*model=\"moderation\"[^}]*route=\"moderate\"");
                    assertThat(text).contains("weir_http_requests_seconds_bucket{");
                    // The host CPU reading the adaptive policy acts on, a fraction of the cores.
                    assertThat(text).containsPattern("(?m)^weir_host_cpu_load [0-9.Ee-]+$");
                    // This client's connection is open on one of the loops while it reads the scrape.
                    assertThat(openConnections(text)).isGreaterThanOrEqualTo(1);
                    // Vert.x's per-request HTTP server meters are off (their cost; weir_http_* covers them).
                    assertThat(text).doesNotContain("vertx_http_server_requests");
                    tc.completeNow();
                })));
    }

    @Test
    void metricsAreRenderedOffTheEventLoops(VertxTestContext tc) {
        // A gauge that notes which thread reads it: the scrape reads every gauge while it renders the text.
        List<String> readers = new CopyOnWriteArrayList<>();
        Gauge gauge = Gauge.builder("test.scrape.reader", () -> {
            readers.add((Context.isOnEventLoopThread() ? "event loop " : "") + Thread.currentThread().getName());
            return 1;
        }).strongReference(true).register(server.meters());
        client.get("/metrics").send().onComplete(tc.succeeding(r -> tc.verify(() -> {
            server.meters().remove(gauge);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.getHeader("content-type")).startsWith("text/plain; version=0.0.4");
            assertThat(r.bodyAsString()).containsPattern("(?m)^test_scrape_reader 1\\.0$");
            assertThat(readers).isNotEmpty().noneMatch(t -> t.startsWith("event loop "));
            tc.completeNow();
        })));
    }

    private static int openConnections(String scrape) {
        return scrape.lines().filter(l -> l.startsWith("weir_http_connections{"))
                .mapToInt(l -> (int) Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
    }

    static Stream<Arguments> badRequests() {
        String big = "x".repeat(70 * 1024);
        JsonObject nonNumericPrice = rankRequest(1);
        nonNumericPrice.getJsonArray("candidates").getJsonObject(0).getJsonObject("features").put("price", "cheap");
        JsonObject missingCategory = rankRequest(1);
        missingCategory.getJsonArray("candidates").getJsonObject(0).getJsonObject("features").remove("category");
        JsonObject badTs = rankRequest(1);
        badTs.getJsonObject("context").put("ts", "yesterday");
        return Stream.of(
                Arguments.of("bad JSON", "/v1/rank:score", "{\"user_id\": ", 400, "INVALID_ARGUMENT"),
                Arguments.of("not an object", "/v1/rank:score", "[1,2]", 400, "INVALID_ARGUMENT"),
                Arguments.of("wrong type", "/v1/rank:score", nonNumericPrice.encode(), 400, "INVALID_ARGUMENT"),
                Arguments.of("missing required feature", "/v1/rank:score", missingCategory.encode(), 400, "INVALID_ARGUMENT"),
                Arguments.of("bad timestamp", "/v1/rank:score", badTs.encode(), 400, "INVALID_ARGUMENT"),
                Arguments.of("NaN literal", "/v1/rank:score", rankRequest(1).encode().replace("10.0", "NaN"), 400, "INVALID_ARGUMENT"),
                Arguments.of("Infinity literal", "/v1/rank:score", rankRequest(1).encode().replace("10.0", "Infinity"), 400, "INVALID_ARGUMENT"),
                Arguments.of("huge number", "/v2/models/echo/infer", echoWith("1e39"), 400, "INVALID_ARGUMENT"),
                Arguments.of("user_id missing", "/v1/rank:score", rankRequest(1).copy().put("user_id", (Object) null).encode(), 400, "INVALID_ARGUMENT"),
                Arguments.of("too many candidates", "/v1/rank:score", rankRequest(51).encode(), 400, "INVALID_ARGUMENT"),
                Arguments.of("no candidates", "/v1/rank:score", rankRequest(0).encode(), 400, "INVALID_ARGUMENT"),
                Arguments.of("text too long", "/v1/moderate", new JsonObject().put("text", "a".repeat(301)).encode(), 400, "INVALID_ARGUMENT"),
                Arguments.of("text not a string", "/v1/moderate", "{\"text\": 42}", 400, "INVALID_ARGUMENT"),
                Arguments.of("unknown version", "/v1/rank:score", rankRequest(1).put("model_version", "9.9.9").encode(), 404, "NOT_FOUND"),
                Arguments.of("malformed version", "/v1/rank:score", rankRequest(1).put("model_version", "latest").encode(), 400, "INVALID_ARGUMENT"),
                Arguments.of("payload too large", "/v1/moderate", new JsonObject().put("text", big).encode(), 413, "PAYLOAD_TOO_LARGE"),
                Arguments.of("unknown model", "/v2/models/nope/infer", echoWith("1"), 404, "NOT_FOUND"),
                Arguments.of("unknown route", "/v1/nothing-here", "{}", 404, "NOT_FOUND"),
                Arguments.of("v2 wrong shape", "/v2/models/echo/infer",
                        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,3],\"data\":[1,2,3]}]}", 400, "INVALID_ARGUMENT"),
                Arguments.of("v2 wrong datatype", "/v2/models/echo/infer",
                        echoWith("1").replace("\"INT64\"", "\"FP32\""), 400, "INVALID_ARGUMENT"),
                Arguments.of("v2 data count mismatch", "/v2/models/echo/infer",
                        echoWith("1").replace("[1,2,3,4]", "[1,2,3]"), 400, "INVALID_ARGUMENT"),
                Arguments.of("v2 missing input", "/v2/models/echo/infer",
                        "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,16],\"data\":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}", 400, "INVALID_ARGUMENT"),
                Arguments.of("v2 fractional int64", "/v2/models/echo/infer", echoWith("1").replace("[1,2,3,4]", "[1,2,3,4.5]"), 400, "INVALID_ARGUMENT"),
                Arguments.of("v2 shape overflowing a long", "/v2/models/echo/infer",
                        echoWith("1").replace("\"shape\":[1,16]", "\"shape\":[9223372036854775807,16]"), 400, "INVALID_ARGUMENT"),
                // 2^64 + 2: past 64 bits, which longValue() would wrap to 2
                Arguments.of("v2 shape past 64 bits", "/v2/models/echo/infer",
                        echoWith("1").replace("\"shape\":[1,16]", "\"shape\":[18446744073709551618,16]"), 400, "INVALID_ARGUMENT"),
                // 16 values, but nested unlike the shape [1, 16]
                Arguments.of("v2 ragged nesting", "/v2/models/echo/infer",
                        echoWith("1").replace("[1,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]", "[[1,1,2],[[3]],4,5,6,7,8,9,10,11,12,13,14,15]"),
                        400, "INVALID_ARGUMENT"),
                Arguments.of("v2 BYTES with a lone surrogate", "/v2/models/echo/infer",
                        echoWith("1").replace("[\"t\"]", "[\"\\ud800x\"]"), 400, "INVALID_ARGUMENT"));
    }

    static String echoWith(String firstX) {
        StringBuilder x = new StringBuilder(firstX);
        for (int i = 1; i < 16; i++) {
            x.append(",").append(i);
        }
        return "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,16],\"data\":[" + x + "]},"
                + "{\"name\":\"ids\",\"datatype\":\"INT64\",\"shape\":[1,4],\"data\":[1,2,3,4]},"
                + "{\"name\":\"text\",\"datatype\":\"BYTES\",\"shape\":[1,1],\"data\":[\"t\"]}]}";
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRequests")
    void badInputGetsItsCodeAndTheErrorBody(String name, String path, String body, int status, String code, VertxTestContext tc) {
        client.post(path).putHeader("content-type", "application/json").putHeader("x-request-id", "bad-" + status)
                .sendBuffer(Buffer.buffer(body)).onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(status);
                    JsonObject json = r.bodyAsJsonObject();
                    assertThat(json.fieldNames()).containsExactlyInAnyOrder("error", "request_id");
                    assertThat(json.getJsonObject("error").getString("code")).isEqualTo(code);
                    String message = json.getJsonObject("error").getString("message");
                    assertThat(message).isNotBlank().doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("io.weir.");
                    assertThat(json.getString("request_id")).isNotBlank();
                    tc.completeNow();
                })));
    }

    /** The candidates are checked on the parsed tree's maps, not through JsonObject wrappers: same messages. */
    static Stream<Arguments> badCandidates() {
        String ok = "{\"item_id\":\"a\",\"features\":{\"price\":1.0,\"category\":\"books\"}}";
        return Stream.of(
                Arguments.of(ok + ",42", "candidates[1] must be an object"),
                Arguments.of(ok + ",{\"features\":{\"price\":1.0,\"category\":\"books\"}}", "candidates[1].item_id is required"),
                Arguments.of(ok + ",{\"item_id\":\"\",\"features\":{}}", "candidates[1].item_id must be a non-empty string"),
                Arguments.of(ok + ",{\"item_id\":7,\"features\":{}}", "candidates[1].item_id must be a non-empty string"),
                Arguments.of(ok + ",{\"item_id\":\"" + "i".repeat(257) + "\",\"features\":{}}",
                        "candidates[1].item_id is longer than 256 characters"),
                Arguments.of(ok + ",{\"item_id\":\"b\",\"features\":[1]}", "candidates[1].features must be an object"),
                Arguments.of(ok + ",{\"item_id\":\"b\"}", "candidates[1].features must be an object"),
                Arguments.of(ok + ",{\"item_id\":\"b\",\"features\":{\"price\":{\"usd\":1},\"category\":\"toys\"}}",
                        "candidates[1].features.price must be a number"),
                Arguments.of(ok + ",{\"item_id\":\"b\",\"features\":{\"price\":2.0,\"category\":[\"toys\"]}}",
                        "candidates[1].features.category must be a string"));
    }

    @ParameterizedTest(name = "{1}")
    @MethodSource("badCandidates")
    void aBadCandidateIsNamedByItsIndexAndField(String candidates, String message, VertxTestContext tc) {
        String body = "{\"user_id\":\"u\",\"candidates\":[" + candidates + "]}";
        client.post("/v1/rank:score").putHeader("content-type", "application/json").sendBuffer(Buffer.buffer(body))
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.statusCode()).as(r.bodyAsString()).isEqualTo(400);
                    JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
                    assertThat(error.getString("code")).isEqualTo("INVALID_ARGUMENT");
                    assertThat(error.getString("message")).isEqualTo(message);
                    tc.completeNow();
                })));
    }

    @Test
    void v2UnknownVersionAndModelReadiness(VertxTestContext tc) {
        Future.all(client.get("/v2/models/ranker/versions/7.0.0").send(), client.get("/v2/models/nope/ready").send())
                .onComplete(tc.succeeding(all -> tc.verify(() -> {
                    List<HttpResponse<Buffer>> rs = all.list();
                    assertThat(rs.get(0).statusCode()).isEqualTo(404);
                    assertThat(rs.get(0).bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("NOT_FOUND");
                    assertThat(rs.get(1).statusCode()).isEqualTo(404);
                    tc.completeNow();
                })));
    }

    @Test
    void adminListsModelsWithStateAndChecksums(VertxTestContext tc) {
        client.get("/admin/models").send().onComplete(tc.succeeding(r -> tc.verify(() -> {
            assertThat(r.statusCode()).isEqualTo(200);
            JsonObject body = r.bodyAsJsonObject();
            assertThat(body.getBoolean("ready")).isTrue();
            List<String> keys = new ArrayList<>();
            body.getJsonArray("models").forEach(o -> {
                JsonObject m = (JsonObject) o;
                keys.add(m.getString("model") + "@" + m.getString("version"));
                assertThat(m.getString("state")).isEqualTo("READY");
                assertThat(m.getString("sha256")).hasSize(64);
            });
            assertThat(keys).contains("ranker@1.0.0", "ranker@1.1.0", "moderation@1.0.0", "echo@1.0.0");
            JsonObject cuda = body.getJsonArray("backends").stream().map(o -> (JsonObject) o)
                    .filter(b -> b.getString("name").equals("cuda")).findFirst().orElseThrow();
            if (!cuda.getBoolean("available")) {
                // No GPU (CI, most build machines): CUDA says why, and every model is served by the CPU without error.
                assertThat(cuda.getString("reason")).isNotBlank();
                body.getJsonArray("models").forEach(o -> assertThat(((JsonObject) o).getJsonArray("backends").getList()).containsExactly("cpu"));
            }
            tc.completeNow();
        })));
    }
}
