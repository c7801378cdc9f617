package io.weir.gateway.grpc;

import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerOptions;
import io.weir.gateway.ModelService;
import io.weir.gateway.http.Routing;
import io.weir.runtime.embedding.SimilarService;

import java.util.function.BooleanSupplier;
import java.util.function.Function;

/**
 * Builds the gRPC handler that {@code HttpVerticle} puts on the HTTP port for {@code application/grpc} requests: one
 * {@link GrpcServer} per verticle's Vert.x with the KServe v2 inference service, the health service and, when a
 * {@link SimilarService} is given, {@code weir.similar.v1.Similar}. Unknown services and methods answer UNIMPLEMENTED
 * (Vert.x's default).
 */
public final class GrpcEndpoints {
    /** Largest request message by default: the REST infer body limit's default. */
    public static final int DEFAULT_MAX_MESSAGE_BYTES = 8 << 20;

    private GrpcEndpoints() {
    }

    /** Without metrics and with the default message size limit. */
    public static Function<Vertx, Handler<HttpServerRequest>> create(ModelService models, Routing routing,
                                                                     SimilarService similar, BooleanSupplier ready) {
        return create(models, routing, similar, ready, null, DEFAULT_MAX_MESSAGE_BYTES);
    }

    /**
     * @param similar         the embedding search, or null to serve no Similar service
     * @param ready           the server's readiness (every model loaded), as REST {@code /v2/health/ready}
     * @param meters          where {@code weir_grpc_requests_seconds} goes, or null
     * @param maxMessageBytes largest request message (RESOURCE_EXHAUSTED above)
     */
    public static Function<Vertx, Handler<HttpServerRequest>> create(ModelService models, Routing routing,
                                                                     SimilarService similar, BooleanSupplier ready,
                                                                     MeterRegistry meters, int maxMessageBytes) {
        GrpcMetrics metrics = new GrpcMetrics(meters);
        InferenceEndpoint inference = new InferenceEndpoint(models, routing, ready, metrics);
        HealthEndpoint health = new HealthEndpoint(ready, similar, metrics);
        SimilarEndpoint similarEndpoint = similar == null ? null : new SimilarEndpoint(similar, metrics);
        return vertx -> {
            GrpcServer server = GrpcServer.server(vertx, new GrpcServerOptions()
                    .setMaxMessageSize(maxMessageBytes)
                    // UnaryCall enforces grpc-timeout itself, to the nanosecond and through to the dispatcher.
                    .setScheduleDeadlineAutomatically(false)
                    .setDeadlinePropagation(false));
            inference.bind(vertx, server);
            health.bind(vertx, server);
            if (similarEndpoint != null) {
                similarEndpoint.bind(vertx, server);
            }
            return server;
        };
    }
}
