package io.weir.gateway.http;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

/**
 * Request metrics by route, model, version, arm and code. One timer family, {@code weir_http_requests_seconds}, with
 * a percentile histogram so Prometheus can compute p95/p99 across replicas; its count by code is the request
 * counter.
 */
public final class GatewayMetrics {
    private final MeterRegistry registry;

    public GatewayMetrics(MeterRegistry registry) {
        this.registry = registry;
    }

    void record(String route, String model, String version, String arm, String code, long nanos) {
        Timer.builder("weir.http.requests")
                .description("HTTP requests served, by route, model, version, arm and result code")
                .tags("route", route, "model", model == null ? "" : model, "version", version == null ? "" : version,
                        "arm", arm == null ? "" : arm, "code", code)
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry)
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    /** How far behind an event loop runs its own timer (the edge shedding signal, {@code OverloadGuard}). */
    void eventLoopLag(String loop, DoubleSupplier seconds) {
        Gauge.builder("weir.http.eventloop.lag.seconds", seconds, DoubleSupplier::getAsDouble)
                .description("How late the event loop ran its 5 ms timer (inference requests are shed above http.shed.budget.fraction of their budget)")
                .tag("loop", loop).strongReference(true).register(registry);
    }

    void shed(String route) {
        registry.counter("weir.http.shed", "route", route).increment();
    }
}
