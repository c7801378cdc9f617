package io.weir.gateway;

import io.vertx.core.json.JsonObject;
import io.weir.gateway.config.WeirConfig;

import java.nio.file.Path;
import java.util.Map;

/** Starts real servers on free loopback ports for the integration tests. */
final class TestServers {
    private TestServers() {
    }

    static WeirServer start(Path repository, Map<String, Object> extra) throws Exception {
        WeirServer server = WeirServer.start(config(repository, extra)).toCompletionStage().toCompletableFuture().get();
        server.awaitLoaded(120_000);
        return server;
    }

    /** The tests' config: a free loopback port, the demo repository unless another is given, no edge shedding. */
    static WeirConfig config(Path repository, Map<String, Object> extra) {
        JsonObject json = new JsonObject().put("http.port", 0).put("http.host", "127.0.0.1")
                .put("model.repository", repository == null ? "demo" : repository.toString())
                .put("cpu.threads", 2)
                // These tests assert exact answers; a pause of the shared CI machine would shed some of them.
                // Edge shedding has its own test (EdgeSheddingTest), which turns it back on.
                .put("http.shed.budget.fraction", 0);
        extra.forEach(json::put);
        return WeirConfig.from(json, Map.of());
    }
}
