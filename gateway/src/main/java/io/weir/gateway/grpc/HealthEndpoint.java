package io.weir.gateway.grpc;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcStatus;
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
 * {@link #WATCH_POLL_MS} ms on the call's event loop), SERVICE_UNKNOWN for other names, until the client cancels.
 */
final class HealthEndpoint {
    static final long WATCH_POLL_MS = 1_000;

    private final Map<String, BooleanSupplier> services;
    private final GrpcMetrics metrics;

    HealthEndpoint(BooleanSupplier ready, SimilarService similar, GrpcMetrics metrics) {
        BooleanSupplier similarReady = similar == null ? () -> false : () -> similar.store().version().isPresent();
        this.services = similar == null
                ? Map.of("", ready, GRPCInferenceServiceGrpcService.SERVICE_NAME.fullyQualifiedName(), ready)
                : Map.of("", ready, GRPCInferenceServiceGrpcService.SERVICE_NAME.fullyQualifiedName(), ready,
                SimilarGrpcService.SERVICE_NAME.fullyQualifiedName(), similarReady);
        this.metrics = metrics;
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
        call.handler(req -> {
            BooleanSupplier s = services.get(req.getService());
            ServingStatus[] last = {status(s)};
            call.response().write(response(last[0]));
            long timer = vertx.setPeriodic(WATCH_POLL_MS, id -> {
                ServingStatus now = status(s);
                if (now != last[0]) {
                    last[0] = now;
                    // A failed write means the stream is gone (cancelled, connection closed): stop polling.
                    call.response().write(response(now)).onFailure(err -> vertx.cancelTimer(id));
                }
            });
            call.exceptionHandler(err -> vertx.cancelTimer(timer));
            call.errorHandler(err -> vertx.cancelTimer(timer));
        });
        call.invalidMessageHandler(err -> call.response().status(GrpcStatus.INVALID_ARGUMENT).end());
    }

    private static ServingStatus status(BooleanSupplier s) {
        return s == null ? ServingStatus.SERVICE_UNKNOWN : s.getAsBoolean() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    }

    private static HealthCheckResponse response(ServingStatus status) {
        return HealthCheckResponse.newBuilder().setStatus(status).build();
    }
}
