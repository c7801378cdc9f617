package io.weir.gateway.grpc;

import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.weir.gateway.grpc.proto.health.HealthCheckRequest;
import io.weir.gateway.grpc.proto.health.HealthCheckResponse;
import io.weir.gateway.grpc.proto.health.HealthGrpcClient;
import io.weir.gateway.grpc.proto.health.HealthGrpcService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** {@link UnaryCall} on its own, serving a method whose runs the test counts and whose results it holds back. */
@ExtendWith(VertxExtension.class)
class UnaryCallTest {

    /**
     * A call with three messages runs the method once. The first run's result never comes here, so the answer is
     * always the one a further message gets before that result: INVALID_ARGUMENT (on the real methods, a result that
     * is ready before the second message arrives is the answer instead, and the later messages are not run either).
     */
    @Test
    void aSecondMessageIsInvalidArgumentAndNoMessageAfterTheFirstIsRun(Vertx vertx, VertxTestContext tc) {
        AtomicInteger runs = new AtomicInteger();
        GrpcServer grpc = GrpcServer.server(vertx, new GrpcServerOptions().setScheduleDeadlineAutomatically(false));
        grpc.callHandler(HealthGrpcService.Check, call -> UnaryCall.serve(vertx, call, new GrpcMetrics(null), (req, c) -> {
            runs.incrementAndGet();
            return Promise.<HealthCheckResponse>promise().future();
        }));
        GrpcClient client = GrpcTestServer.client(vertx);
        HealthCheckRequest message = HealthCheckRequest.getDefaultInstance();
        vertx.createHttpServer(new HttpServerOptions().setHost("127.0.0.1").setPort(0)).requestHandler(grpc).listen()
                .compose(server -> client.request(SocketAddress.inetSocketAddress(server.actualPort(), "127.0.0.1"), HealthGrpcClient.Check))
                .compose(req -> {
                    req.write(message);
                    req.write(message);
                    return GrpcTestServer.send(req, message);
                })
                // Without an answer the call would hang: fail in seconds, not at the test's timeout.
                .timeout(10, TimeUnit.SECONDS)
                .onComplete(tc.succeeding(o -> tc.verify(() -> {
                    assertThat(o.status()).as(o.message()).isEqualTo(GrpcStatus.INVALID_ARGUMENT);
                    assertThat(o.message()).isEqualTo("grpc.health.v1.Health/Check is unary: more than one request message");
                    assertThat(o.messages()).isEmpty();
                    assertThat(runs).hasValue(1);
                    tc.completeNow();
                })));
    }
}
