package io.weir.gateway.http;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.weir.gateway.WeirServer;
import io.weir.gateway.config.WeirConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.IntFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * One {@link HttpVerticle} (one event loop, so one threshold cache) over a real server's models: the shedding
 * thresholds it caches are for the models the registry knows, whatever names clients put in the path.
 */
@ExtendWith(VertxExtension.class)
class ShedThresholdCacheTest {
    private static WeirServer server;

    @BeforeAll
    static void startServer() throws Exception {
        JsonObject json = new JsonObject().put("http.port", 0).put("http.host", "127.0.0.1").put("model.repository", "demo")
                .put("cpu.threads", 2).put("http.shed.budget.fraction", 0);
        server = WeirServer.start(WeirConfig.from(json, Map.of())).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        server.awaitLoaded(120_000);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Test
    void requestsForUnknownModelsAddNoThresholds(Vertx vertx, VertxTestContext tc) {
        // Shedding on (the default fraction), with a floor no stall of a test machine reaches: nothing is shed.
        WeirConfig config = WeirConfig.from(new JsonObject().put("http.port", 0).put("http.host", "127.0.0.1")
                .put("http.shed.min.lag.ms", 60_000), Map.of());
        Routing routing = (model, version, userId, requestId, headers) ->
                new Routing.Selection(server.models().resolve(model, version), "primary", null);
        HttpVerticle verticle = new HttpVerticle(config, server.models(), routing,
                new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), null, null);
        vertx.deployVerticle(verticle).compose(id -> {
            WebClient client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1")
                    .setDefaultPort(verticle.actualPort()));
            IntFunction<Future<HttpResponse<Buffer>>> unknown = i -> client.post("/v2/models/no-such-model-" + i + "/infer")
                    .sendJsonObject(new JsonObject().put("inputs", List.of()));
            // The first WARM_UP_REQUESTS are never shed, so never look a threshold up.
            return all(HttpVerticle.WARM_UP_REQUESTS, unknown)
                    .compose(warm -> client.post("/v2/models/echo/infer").sendJsonObject(new JsonObject().put("inputs", List.of())))
                    .compose(known -> all(500, i -> unknown.apply(HttpVerticle.WARM_UP_REQUESTS + i)));
        }).onComplete(tc.succeeding(answers -> tc.verify(() -> {
            assertThat(answers).allSatisfy(r -> assertThat(r.statusCode()).isEqualTo(404));
            assertThat(verticle.shedThresholdsCached()).as("the one known model's threshold").isEqualTo(1);
            tc.completeNow();
        })));
    }

    private static Future<List<HttpResponse<Buffer>>> all(int n, IntFunction<Future<HttpResponse<Buffer>>> send) {
        List<Future<HttpResponse<Buffer>>> sent = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            sent.add(send.apply(i));
        }
        return Future.all(sent).map(f -> {
            List<HttpResponse<Buffer>> answers = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                answers.add(f.resultAt(i));
            }
            return answers;
        });
    }
}
