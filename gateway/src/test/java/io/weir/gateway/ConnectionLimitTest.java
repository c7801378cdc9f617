package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
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

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code http.max.connections} end to end: with two connections open, a request on a third is answered 503
 * UNAVAILABLE with a Retry-After and that connection is closed; the two open ones keep being served, and once one of
 * them closes a new connection is served again. Each client below keeps one keep-alive connection.
 */
@ExtendWith(VertxExtension.class)
class ConnectionLimitTest {
    private static WeirServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = TestServers.start(null, Map.of("http.max.connections", 2));
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private static WebClient oneConnection(Vertx vertx) {
        return WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(server.port())
                .setKeepAlive(true), new PoolOptions().setHttp1MaxSize(1));
    }

    private static Future<HttpResponse<Buffer>> moderate(WebClient client, String id) {
        return client.post("/v1/moderate").sendJsonObject(new JsonObject().put("text", "hello there").put("request_id", id));
    }

    private static double refusedCount() {
        var c = server.meters().find("weir.http.connections.refused").counter();
        return c == null ? 0 : c.count();
    }

    @Test
    void aConnectionPastTheLimitIsAnsweredUnavailableAndClosedWhileTheOthersAreServed(Vertx vertx, VertxTestContext tc) {
        WebClient first = oneConnection(vertx);
        WebClient second = oneConnection(vertx);
        WebClient third = oneConnection(vertx);
        double refusedBefore = refusedCount();
        moderate(first, "first").compose(a -> moderate(second, "second").map(b -> {
            tc.verify(() -> {
                assertThat(a.statusCode()).isEqualTo(200);
                assertThat(b.statusCode()).isEqualTo(200);
            });
            return b;
        })).compose(v -> moderate(third, "third")).compose(r -> {
            tc.verify(() -> {
                assertThat(r.statusCode()).isEqualTo(503);
                JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
                assertThat(error.getString("code")).isEqualTo("UNAVAILABLE");
                assertThat(error.getString("message")).contains("http.max.connections");
                assertThat(r.getHeader("retry-after")).isEqualTo("1");
                assertThat(r.getHeader("connection")).isEqualTo("close");
                assertThat(refusedCount() - refusedBefore).isEqualTo(1);
            });
            // The connections within the limit are still served.
            return moderate(first, "first-again");
        }).compose(r -> {
            tc.verify(() -> assertThat(r.statusCode()).isEqualTo(200));
            first.close();   // frees a place: a new connection is served once the server has seen the close
            return servedEventually(vertx, third, 50);
        }).onComplete(tc.succeeding(r -> tc.verify(() -> {
            assertThat(r.bodyAsJsonObject().getString("request_id")).isEqualTo("third-later");
            second.close();
            third.close();
            tc.completeNow();
        })));
    }

    private static Future<HttpResponse<Buffer>> servedEventually(Vertx vertx, WebClient client, int attempts) {
        return moderate(client, "third-later").compose(r -> {
            if (r.statusCode() == 200 || attempts <= 1) {
                return Future.succeededFuture(r);
            }
            return vertx.timer(20).compose(t -> servedEventually(vertx, client, attempts - 1));
        });
    }
}
