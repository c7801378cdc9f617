package io.weir.gateway.grpc;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.grpc.common.GrpcStatus;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

/**
 * {@code weir_grpc_requests_seconds{method, code}}: every finished gRPC call, its full method name and final status
 * (CANCELLED when the client went away first). Thread-safe; meters are cached per (method, code).
 */
final class GrpcMetrics {
    private final MeterRegistry registry;
    private final ConcurrentMap<String, Timer> timers = new ConcurrentHashMap<>();

    GrpcMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    void record(String method, GrpcStatus status, long nanos) {
        if (registry == null) {
            return;
        }
        timers.computeIfAbsent(method + '\u0000' + status.name(), k -> Timer.builder("weir.grpc.requests")
                .description("gRPC calls by method and final status")
                .tag("method", method).tag("code", status.name())
                .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }
}
