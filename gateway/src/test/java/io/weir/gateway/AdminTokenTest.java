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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** With admin.token set, every admin route (the gateway's own and the rollout API) wants the bearer token; inference does not. */
@ExtendWith(VertxExtension.class)
class AdminTokenTest {
    private static WeirServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServers.start(null, Map.of("admin.token", "s3cret-token"));
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static Future<HttpResponse<Buffer>> get(WebClient client, String path, String authorization) {
        var request = client.get(path);
        if (authorization != null) {
            request.putHeader("authorization", authorization);
        }
        return request.send();
    }

    @Test
    void adminRoutesWantTheBearerTokenAndInferenceDoesNot(Vertx vertx, VertxTestContext tc) {
        WebClient client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(server.port()));
        Future.all(List.of(
                get(client, "/admin/models", null),
                get(client, "/admin/models", "Bearer wrong-token"),
                get(client, "/admin/rollouts/ranker", "s3cret-token"),
                get(client, "/admin/models", "Bearer s3cret-token"),
                get(client, "/v2/health/ready", null),
                client.post("/v1/moderate").sendJsonObject(new JsonObject().put("text", "hello"))
        )).onComplete(tc.succeeding(all -> tc.verify(() -> {
            for (int i = 0; i < 3; i++) {
                HttpResponse<Buffer> r = all.resultAt(i);
                assertThat(r.statusCode()).as("refused %d", i).isEqualTo(401);
                assertThat(r.getHeader("www-authenticate")).isEqualTo("Bearer");
                assertThat(r.bodyAsJsonObject().getJsonObject("error").getString("code")).isEqualTo("UNAUTHENTICATED");
                assertThat(r.bodyAsString()).doesNotContain("s3cret");
            }
            HttpResponse<Buffer> allowed = all.resultAt(3);
            assertThat(allowed.statusCode()).isEqualTo(200);
            assertThat(allowed.bodyAsString()).contains("ranker");
            assertThat(((HttpResponse<Buffer>) all.resultAt(4)).statusCode()).isEqualTo(200);
            assertThat(((HttpResponse<Buffer>) all.resultAt(5)).statusCode()).isEqualTo(200);
            assertThat(io.weir.gateway.config.WeirConfig.from(new JsonObject().put("admin.token", "s3cret-token"), Map.of())
                    .toString()).as("a logged config").doesNotContain("s3cret").contains("adminToken=***");
            tc.completeNow();
        })));
    }
}
