package io.weir.gateway;

import io.netty.util.concurrent.EventExecutor;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.internal.VertxInternal;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.weir.gateway.http.HttpVerticle;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Edge shedding end to end: while the server's event loops are stuck (here: each blocked for 300 ms, standing in
 * for cores saturated by traffic), the inference requests they read are answered 429 RESOURCE_EXHAUSTED with a
 * Retry-After and their own request_id, without being run; once the loops catch up, requests are served again. A
 * second server whose shedding floor ({@code http.shed.min.lag.ms}) is above the stall serves the same requests; a
 * third, with the same floor and {@code http.deadline.lag.reserve}, counts the stall its requests sat through against
 * their deadline and answers those it could no longer serve in time 504 instead of late 200s.
 */
@ExtendWith(VertxExtension.class)
class EdgeSheddingTest {
    private static WeirServer server;

    private static WeirServer highFloor;

    private static WeirServer reserving;

    @BeforeAll
    static void startServer() throws Exception {
        server = TestServers.start(null, Map.of("http.shed.budget.fraction", 0.25));
        highFloor = TestServers.start(null, Map.of("http.shed.budget.fraction", 0.25, "http.shed.min.lag.ms", 2_000));
        reserving = TestServers.start(null, Map.of("http.shed.budget.fraction", 0.25, "http.shed.min.lag.ms", 2_000,
                "http.deadline.lag.reserve", 2));
    }

    @AfterAll
    static void stopServer() {
        server.close();
        highFloor.close();
        reserving.close();
    }

    @Test
    void requestsReadWhileTheEventLoopsAreStuckAreShedAndServingResumesAfterwards(Vertx vertx, VertxTestContext tc) {
        WebClient client = clientOf(vertx, server);
        double[] shedBefore = new double[1];
        intoAStall(vertx, client, server, () -> shedBefore[0] = shedCount(), i -> moderate(client, "stuck-" + i)
        ).onComplete(tc.succeeding(during -> tc.verify(() -> {
            List<HttpResponse<Buffer>> shed = during.stream().filter(r -> r.statusCode() == 429).toList();
            assertThat(during).allSatisfy(r -> assertThat(r.statusCode()).isIn(200, 429));
            assertThat(shed).as("requests read behind a stuck loop are shed").isNotEmpty();
            for (HttpResponse<Buffer> r : shed) {
                JsonObject body = r.bodyAsJsonObject();
                assertThat(body.getJsonObject("error").getString("code")).isEqualTo("RESOURCE_EXHAUSTED");
                assertThat(body.getJsonObject("error").getString("message")).contains("overloaded");
                assertThat(body.getString("request_id")).startsWith("stuck-");
                assertThat(r.getHeader("retry-after")).isEqualTo("1");
            }
            assertThat(shedCount() - shedBefore[0]).isEqualTo(shed.size());
        }))).compose(v -> servedEventually(vertx, client, "after", 50))
                .onComplete(tc.succeeding(r -> tc.verify(() -> {
                    assertThat(r.bodyAsJsonObject().getString("request_id")).isEqualTo("after");
                    tc.completeNow();
                })));
    }

    @Test
    void aStallBelowTheConfiguredFloorShedsNothing(Vertx vertx, VertxTestContext tc) {
        WebClient client = clientOf(vertx, highFloor);
        intoAStall(vertx, client, highFloor, () -> { }, i -> moderate(client, "stuck-" + i)
        ).onComplete(tc.succeeding(all -> tc.verify(() -> {
            for (int i = 0; i < 8; i++) {
                HttpResponse<Buffer> r = all.get(i);
                assertThat(r.statusCode()).as("a 300 ms stall is under the 2 s floor").isEqualTo(200);
                assertThat(r.bodyAsJsonObject().getString("request_id")).isEqualTo("stuck-" + i);
            }
            assertThat(highFloor.meters().find("weir.http.shed").counter()).isNull();
            tc.completeNow();
        })));
    }

    @Test
    void withALagReserveRequestsReadBehindAStallAreAnsweredDeadlineExceededNotLate(Vertx vertx, VertxTestContext tc) {
        WebClient client = clientOf(vertx, reserving);
        // Odd ones propagate a client deadline of 50 ms; even ones have moderation's 80 ms budget, half of them by
        // asking for a timeout longer than any budget (Long.MAX_VALUE ms, a common "no limit").
        intoAStall(vertx, client, reserving, () -> { },
                i -> i % 2 == 1 ? moderate(client, "stuck-" + i, 50)
                        : i % 4 == 2 ? moderate(client, "stuck-" + i, Long.MAX_VALUE) : moderate(client, "stuck-" + i)
        ).onComplete(tc.succeeding(all -> tc.verify(() -> {
            List<HttpResponse<Buffer>> expired = new ArrayList<>();
            int unparsed = 0;
            for (int i = 0; i < 8; i++) {
                HttpResponse<Buffer> r = all.get(i);
                // Nothing is shed (the floor is 2 s); what the stall made too late is a 504, not a late 200.
                assertThat(r.statusCode()).isIn(200, 504);
                assertThat(r.bodyAsJsonObject().getString("request_id")).isEqualTo("stuck-" + i);
                if (r.statusCode() == 504) {
                    expired.add(r);
                    JsonObject error = r.bodyAsJsonObject().getJsonObject("error");
                    assertThat(error.getString("code")).isEqualTo("DEADLINE_EXCEEDED");
                    if (error.getString("message").contains("ran out unseen")) {
                        assertThat(i % 2).as("only a client's own timeout can run out before the parse").isEqualTo(1);
                        unparsed++;
                    }
                }
            }
            assertThat(expired).as("requests read up to 300 ms late by a loop, with 50-80 ms to live").isNotEmpty();
            assertThat(unparsed).as("a 50 ms timeout behind a 300 ms stall ends at the edge").isPositive();
            assertThat(reserving.meters().find("weir.http.expired").tag("route", "moderate").counter().count())
                    .isEqualTo(unparsed);
            assertThat(reserving.meters().find("weir.http.shed").counter()).isNull();
            tc.completeNow();
        })));
    }

    private static WebClient clientOf(Vertx vertx, WeirServer target) {
        return WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(target.port()),
                new PoolOptions().setHttp1MaxSize(8));
    }

    /**
     * Warms {@code target} up past each loop's first WARM_UP_REQUESTS (never shed: JIT time) on all 8 connections, so
     * that the loops about to be stuck already own them (however the connections fall on the loops, 3 x 100 rounds of
     * 8 is enough); then runs {@code afterWarmUp}, blocks each of its event loops for 300 ms and sends {@code send(i)}
     * for i = 0..7 into the stall. The answers in order.
     */
    private static Future<List<HttpResponse<Buffer>>> intoAStall(Vertx vertx, WebClient client, WeirServer target,
                                                                 Runnable afterWarmUp,
                                                                 IntFunction<Future<HttpResponse<Buffer>>> send) {
        return warmUp(vertx, client, 3 * HttpVerticle.WARM_UP_REQUESTS).compose(w -> {
            afterWarmUp.run();
            for (EventExecutor loop : ((VertxInternal) target.vertx()).nettyEventLoopGroup()) {
                loop.execute(() -> sleep(300));
            }
            List<Future<HttpResponse<Buffer>>> during = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                during.add(send.apply(i));
            }
            return Future.all(during).map(all -> {
                List<HttpResponse<Buffer>> answers = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    answers.add(all.resultAt(i));
                }
                return answers;
            });
        });
    }

    /** {@code rounds} rounds of 8 concurrent requests, each served in the end (see {@link #servedEventually}). */
    private static Future<Void> warmUp(Vertx vertx, WebClient client, int rounds) {
        if (rounds == 0) {
            return Future.succeededFuture();
        }
        List<Future<HttpResponse<Buffer>>> warm = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            warm.add(servedEventually(vertx, client, "warm-" + i, 100));
        }
        return Future.all(warm).compose(all -> warmUp(vertx, client, rounds - 1));
    }

    /**
     * A request answered 200, tried every 20 ms while it is shed (429) or outlives its budget (504: a cold server on a
     * busy machine can take longer than moderation's 80 ms for its first requests), at most {@code n} more times.
     */
    private static Future<HttpResponse<Buffer>> servedEventually(Vertx vertx, WebClient client, String id, int n) {
        return moderate(client, id).compose(r -> {
            if (r.statusCode() == 200) {
                return Future.succeededFuture(r);
            }
            if (r.statusCode() != 429 && r.statusCode() != 504 || n == 0) {
                return Future.failedFuture("not served: " + r.statusCode() + " " + r.bodyAsString());
            }
            return vertx.timer(20).compose(t -> servedEventually(vertx, client, id, n - 1));
        });
    }

    private static Future<HttpResponse<Buffer>> moderate(WebClient client, String id) {
        return client.post("/v1/moderate").sendJsonObject(new JsonObject().put("text", "hello there").put("request_id", id));
    }

    private static Future<HttpResponse<Buffer>> moderate(WebClient client, String id, long timeoutMs) {
        return client.post("/v1/moderate").putHeader("x-weir-timeout-ms", String.valueOf(timeoutMs))
                .sendJsonObject(new JsonObject().put("text", "hello there").put("request_id", id));
    }

    private static double shedCount() {
        var c = server.meters().find("weir.http.shed").tag("route", "moderate").counter();
        return c == null ? 0 : c.count();
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
