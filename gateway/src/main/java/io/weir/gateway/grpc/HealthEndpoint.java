package io.weir.gateway.grpc;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerRequest;
import io.weir.gateway.grpc.proto.health.HealthCheckRequest;
import io.weir.gateway.grpc.proto.health.HealthCheckResponse;
import io.weir.gateway.grpc.proto.health.HealthCheckResponse.ServingStatus;
import io.weir.gateway.grpc.proto.health.HealthGrpcService;
import io.weir.gateway.grpc.proto.inference.GRPCInferenceServiceGrpcService;
import io.weir.gateway.grpc.proto.similar.SimilarGrpcService;
import io.weir.runtime.WeirException;
import io.weir.runtime.embedding.SimilarService;

import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * {@code grpc.health.v1.Health}: the server as a whole ({@code ""}) and the inference service are SERVING once every
 * model is loaded (the REST readiness), the Similar service once an embedding index is loaded. Check answers
 * NOT_FOUND for other names; Watch sends the status at once and again whenever it changes (polled every
 * {@link #WATCH_POLL_MS} ms on the call's event loop while the call lasts), SERVICE_UNKNOWN for other names, until the
 * client cancels or its connection closes.
 */
final class HealthEndpoint {
    static final long WATCH_POLL_MS = 1_000;

    private final Map<String, BooleanSupplier> services;
    private final GrpcMetrics metrics;
    private final long watchPollMillis;

    HealthEndpoint(BooleanSupplier ready, SimilarService similar, GrpcMetrics metrics) {
        this(ready, similar, metrics, WATCH_POLL_MS);
    }

    /** @param watchPollMillis how often a Watch polls its status (tests poll faster) */
    HealthEndpoint(BooleanSupplier ready, SimilarService similar, GrpcMetrics metrics, long watchPollMillis) {
        BooleanSupplier similarReady = similar == null ? () -> false : () -> similar.store().version().isPresent();
        this.services = similar == null
                ? Map.of("", ready, GRPCInferenceServiceGrpcService.SERVICE_NAME.fullyQualifiedName(), ready)
                : Map.of("", ready, GRPCInferenceServiceGrpcService.SERVICE_NAME.fullyQualifiedName(), ready,
                SimilarGrpcService.SERVICE_NAME.fullyQualifiedName(), similarReady);
        this.metrics = metrics;
        this.watchPollMillis = watchPollMillis;
    }

    void bind(Vertx vertx, GrpcServer server) {
        server.callHandler(HealthGrpcService.Check, call -> UnaryCall.serve(vertx, call, metrics, (req, c) -> {
            BooleanSupplier s = services.get(req.getService());
            if (s == null) {
                throw WeirException.notFound("unknown service '" + req.getService() + "'");
            }
            return Future.succeededFuture(response(s.getAsBoolean() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING));
        }));
        server.callHandler(HealthGrpcService.Watch, call -> watch(vertx, call));
    }

    private void watch(Vertx vertx, GrpcServerRequest<HealthCheckRequest, HealthCheckResponse> call) {
        new Watch(vertx, call).start();
    }

    /**
     * One Watch call, which polls only while the call lasts. A write happens only on a status change, so a failed
     * write alone would notice a client gone only at the next change, if ever: the stream's reset (the call's error
     * handler) and the connection's close (the response's exception handler; the connection's one close handler is
     * HttpVerticle's) stop the timer too. Watch takes one request, as its proto says: a further message, or none
     * before the client half-closes, ends the call INVALID_ARGUMENT, as on a unary call (grpc-java ends it INTERNAL;
     * the error table keeps that for Weir's own faults). Everything runs on the call's event loop.
     */
    private final class Watch {
        private final Vertx vertx;
        private final GrpcServerRequest<HealthCheckRequest, HealthCheckResponse> call;
        private long timer = -1;
        private boolean received;
        private boolean ended;

        Watch(Vertx vertx, GrpcServerRequest<HealthCheckRequest, HealthCheckResponse> call) {
            this.vertx = vertx;
            this.call = call;
        }

        void start() {
            call.handler(req -> {
                if (received) {
                    fail(WeirException.invalid(call.fullMethodName() + " takes one request message"));
                    return;
                }
                received = true;
                BooleanSupplier s = services.get(req.getService());
                ServingStatus[] last = {status(s)};
                call.response().write(response(last[0]));
                timer = vertx.setPeriodic(watchPollMillis, id -> {
                    ServingStatus now = status(s);
                    if (now != last[0]) {
                        last[0] = now;
                        // A failed write means the stream is gone (cancelled, connection closed): stop polling.
                        call.response().write(response(now)).onFailure(err -> stop());
                    }
                });
            });
            call.endHandler(v -> {
                if (!received) {
                    fail(WeirException.invalid("missing request message: " + call.fullMethodName() + " takes one"));
                }
            });
            call.invalidMessageHandler(err -> fail(WeirException.invalid("request message is not a valid " + call.fullMethodName() + " request")));
            call.exceptionHandler(err -> stop());
            call.errorHandler(err -> stop());
            call.response().exceptionHandler(err -> stop());
        }

        private void fail(WeirException e) {
            stop();
            if (!ended) {
                ended = true;
                call.response().status(GrpcErrors.status(e.code())).statusMessage(e.getMessage()).end();
            }
        }

        private void stop() {
            if (timer >= 0) {
                vertx.cancelTimer(timer);
                timer = -1;
            }
        }
    }

    private static ServingStatus status(BooleanSupplier s) {
        return s == null ? ServingStatus.SERVICE_UNKNOWN : s.getAsBoolean() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    }

    private static HealthCheckResponse response(ServingStatus status) {
        return HealthCheckResponse.newBuilder().setStatus(status).build();
    }
}
