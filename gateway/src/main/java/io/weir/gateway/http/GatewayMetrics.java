package io.weir.gateway.http;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;
import java.util.function.IntSupplier;

/**
 * Request metrics by route, model, version, arm and code. One timer family, {@code weir_http_requests_seconds}, with
 * a percentile histogram so Prometheus can compute p95/p99 across replicas; its count by code is the request
 * counter.
 *
 * <p>Meters are cached per tag set, as {@code GrpcMetrics} does: building the timer's id and looking it up in the
 * registry on every request took about a third of what recording cost on the event loops, which are what saturates
 * (JFR at moderation's 10000 req/s: this class 2.5-3.4% of their CPU samples before, 2.1-2.5% after, the rest the
 * histogram itself; docs/PERF.md, "What the event loops spend on metrics"). The tag sets are bounded: model, version
 * and arm are set only once a request was routed to a known version. Thread-safe; in practice each instance is used
 * by the one event loop of its verticle.
 */
public final class GatewayMetrics {
    private final MeterRegistry registry;
    private final ConcurrentMap<TimerKey, Timer> timers = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> sheds = new ConcurrentHashMap<>();
    private final ConcurrentMap<String, Counter> expired = new ConcurrentHashMap<>();
    private final Counter rankBodiesStreamed;
    private final Counter rankBodiesParsed;

    private record TimerKey(String route, String model, String version, String arm, String code) {
    }

    public GatewayMetrics(MeterRegistry registry) {
        this.registry = registry;
        this.rankBodiesStreamed = rankBodyReads(registry, "stream");
        this.rankBodiesParsed = rankBodyReads(registry, "tree");
    }

    private static Counter rankBodyReads(MeterRegistry registry, String path) {
        return Counter.builder("weir.http.rank.body.reads")
                .description("Rank request bodies read by streaming into their feature rows (path=stream), or parsed into a"
                        + " JSON tree (path=tree: bad input, a loop's first request, or a version whose contract differs)")
                .tag("path", path).register(registry);
    }

    /** A rank body was read by streaming ({@code true}) or parsed into a tree. */
    void rankBodyRead(boolean streamed) {
        (streamed ? rankBodiesStreamed : rankBodiesParsed).increment();
    }

    void record(String route, String model, String version, String arm, String code, long nanos) {
        timers.computeIfAbsent(new TimerKey(route, orEmpty(model), orEmpty(version), orEmpty(arm), code), this::timer)
                .record(nanos, TimeUnit.NANOSECONDS);
    }

    private Timer timer(TimerKey k) {
        return Timer.builder("weir.http.requests")
                .description("HTTP requests served, by route, model, version, arm and result code")
                .tags("route", k.route(), "model", k.model(), "version", k.version(), "arm", k.arm(), "code", k.code())
                .publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofNanos(100_000))
                .maximumExpectedValue(Duration.ofSeconds(10))
                .register(registry);
    }

    private static String orEmpty(String s) {
        return s == null ? "" : s;
    }

    /** How far behind an event loop runs its own timer (the edge shedding signal, {@code OverloadGuard}). */
    void eventLoopLag(String loop, DoubleSupplier seconds) {
        loopGauge("weir.http.eventloop.lag.seconds", "How late the event loop ran its 5 ms timer (inference requests are"
                + " shed above http.shed.budget.fraction of their budget)", loop, seconds);
    }

    /** HTTP/1.1 and HTTP/2 connections open on one event loop (gRPC included). */
    void openConnections(String loop, IntSupplier open) {
        loopGauge("weir.http.connections", "Client connections open, per event loop", loop, open::getAsInt);
    }

    /**
     * A gauge per event loop over the loop's own state (held strongly: the loop owns it), read by the scrape's worker
     * thread without a lock: a plain read that may be a moment stale, which a gauge can afford.
     */
    private void loopGauge(String name, String description, String loop, DoubleSupplier value) {
        Gauge.builder(name, value, DoubleSupplier::getAsDouble).description(description).tag("loop", loop)
                .strongReference(true).register(registry);
    }

    void shed(String route) {
        sheds.computeIfAbsent(route, r -> registry.counter("weir.http.shed", "route", r)).increment();
    }

    /** A request answered DEADLINE_EXCEEDED before its body was parsed: its loop's lag had used up its timeout. */
    void expiredAtEdge(String route) {
        expired.computeIfAbsent(route, r -> Counter.builder("weir.http.expired")
                .description("Inference requests answered DEADLINE_EXCEEDED unparsed: the event loop's lag times "
                        + "http.deadline.lag.reserve had used up their x-weir-timeout-ms")
                .tag("route", r).register(registry)).increment();
    }
}
