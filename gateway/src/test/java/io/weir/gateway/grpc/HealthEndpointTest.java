package io.weir.gateway.grpc;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.weir.gateway.grpc.proto.health.HealthCheckRequest;
import io.weir.gateway.grpc.proto.health.HealthCheckResponse;
import io.weir.gateway.grpc.proto.health.HealthCheckResponse.ServingStatus;
import io.weir.gateway.grpc.proto.health.HealthGrpcClient;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Health service's Watch on its own, polling every {@link #POLL_MS} ms a readiness that counts its checks: once a
 * watch is over, however it ended, nothing polls for it any more.
 */
@ExtendWith(VertxExtension.class)
class HealthEndpointTest {
    private static final long POLL_MS = 5;
    /** Long enough for a left-over timer to poll many times. */
    private static final long QUIET_MS = 20 * POLL_MS;

    private final AtomicInteger checks = new AtomicInteger();
    private final Promise<Void> serverSawClose = Promise.promise();
    private GrpcClient client;
    private Future<SocketAddress> address;

    @BeforeEach
    void start(Vertx vertx) {
        HealthEndpoint health = new HealthEndpoint(() -> {
            checks.incrementAndGet();
            return true;
        }, null, new GrpcMetrics(null), POLL_MS);
        GrpcServer grpc = GrpcServer.server(vertx, new GrpcServerOptions().setScheduleDeadlineAutomatically(false));
        health.bind(vertx, grpc);
        address = vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0))
                .connectionHandler(c -> c.closeHandler(v -> serverSawClose.tryComplete()))
                .requestHandler(grpc).listen()
                .map(s -> SocketAddress.inetSocketAddress(s.actualPort(), "127.0.0.1"));
        client = GrpcTestServer.client(vertx);
    }

    @Test
    void aWatchWhoseClientConnectionClosesStopsPolling(Vertx vertx, VertxTestContext tc) {
        address.compose(a -> client.request(a, HealthGrpcClient.Watch)).compose(req -> {
            req.end(HealthCheckRequest.getDefaultInstance());
            return firstStatus(req).compose(first -> {
                tc.verify(() -> assertThat(first).isEqualTo(ServingStatus.SERVING));
                return req.connection().close();
            });
        }).compose(v -> serverSawClose.future())
                .compose(v -> assertNoMoreChecks(vertx))
                .onComplete(tc.succeedingThenComplete());
    }

    /** Watch takes one request, as its proto says: a second one ends the call INVALID_ARGUMENT, and its polling. */
    @Test
    void aSecondRequestOnAWatchIsInvalidArgumentAndStopsPolling(Vertx vertx, VertxTestContext tc) {
        address.compose(a -> client.request(a, HealthGrpcClient.Watch)).compose(req -> {
            req.write(HealthCheckRequest.getDefaultInstance());
            return firstStatus(req).compose(first -> GrpcTestServer.send(req, HealthCheckRequest.getDefaultInstance()));
        }).timeout(10, TimeUnit.SECONDS).compose(o -> {
            tc.verify(() -> {
                assertThat(o.status()).isEqualTo(GrpcStatus.INVALID_ARGUMENT);
                assertThat(o.message()).isEqualTo("grpc.health.v1.Health/Watch takes one request message");
            });
            return assertNoMoreChecks(vertx);
        }).onComplete(tc.succeedingThenComplete());
    }

    /** The first status a watch sends. */
    private static Future<ServingStatus> firstStatus(GrpcClientRequest<HealthCheckRequest, HealthCheckResponse> req) {
        return req.response().compose(resp -> {
            Promise<ServingStatus> first = Promise.promise();
            resp.handler(m -> first.tryComplete(m.getStatus()));
            resp.exceptionHandler(first::tryFail);
            return first.future();
        }).timeout(10, TimeUnit.SECONDS);
    }

    /** A few polls' time for the watch's end to land, then no check at all for many more. */
    private Future<Void> assertNoMoreChecks(Vertx vertx) {
        return vertx.timer(2 * POLL_MS).compose(t -> {
            int before = checks.get();
            return vertx.timer(QUIET_MS).map(t2 -> {
                assertThat(checks.get() - before).as("readiness checks after the watch ended").isZero();
                return null;
            });
        });
    }
}
