package io.weir.gateway.http;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.weir.gateway.ModelService;
import io.weir.gateway.config.WeirConfig;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.ModelKey;
import io.weir.runtime.WeirException;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * One HTTP server instance (HTTP/1.1 and h2c on the same port); the server deploys one per event loop. The routes,
 * top-down: native API, deprecated native API, KServe v2, admin, metrics. Every route's failures go through
 * {@link HttpErrors}; every request is counted by {@link GatewayMetrics} when its response ends.
 */
public final class HttpVerticle extends VerticleBase {
    private static final long GUARD_PERIOD_NANOS = 5_000_000L;
    /**
     * Inference requests a loop serves before it may shed: until then its lag measures class loading and the JIT
     * compiling the request path, not load (the CI smoke, ramping from 1 request/s, had 1-3 of its first 100
     * requests shed). Under real load a loop gets through these in milliseconds.
     */
    public static final int WARM_UP_REQUESTS = 100;
    private final WeirConfig config;
    private final ModelService models;
    private final Routing routing;
    private final PrometheusMeterRegistry prometheus;
    private final GatewayMetrics metrics;
    private final Consumer<Router> extraRoutes;
    private final Function<Vertx, Handler<HttpServerRequest>> grpc;
    private final BooleanSupplier drillSheds;
    private HttpServer server;
    private OverloadGuard guard;
    private int warmUpLeft = WARM_UP_REQUESTS;
    /** Per model: {shedding threshold ns, when computed}; this loop's thread only. */
    private final Map<String, long[]> shedThresholds = new HashMap<>();
    private long tickTimer = -1;
    private final AtomicInteger openConnections = new AtomicInteger();
    private volatile boolean stopped;

    /**
     * @param extraRoutes more admin routes (the router module's rollout API), or null
     * @param grpc        makes the gRPC handler for this verticle's Vert.x (requests with a {@code application/grpc}
     *                    content type go there, on the same port over HTTP/2), or null for no gRPC
     */
    public HttpVerticle(WeirConfig config, ModelService models, Routing routing, PrometheusMeterRegistry prometheus,
                        Consumer<Router> extraRoutes, Function<Vertx, Handler<HttpServerRequest>> grpc) {
        this(config, models, routing, prometheus, extraRoutes, grpc, null);
    }

    /**
     * @param drillSheds with {@code chaos.enabled}, the shed drill's say for the request being read (true: answer it
     *                   429 through the edge's shedding path, whatever the loop's lag); null without chaos
     */
    public HttpVerticle(WeirConfig config, ModelService models, Routing routing, PrometheusMeterRegistry prometheus,
                        Consumer<Router> extraRoutes, Function<Vertx, Handler<HttpServerRequest>> grpc,
                        BooleanSupplier drillSheds) {
        this.config = config;
        this.models = models;
        this.routing = routing;
        this.prometheus = prometheus;
        this.metrics = new GatewayMetrics(prometheus);
        this.extraRoutes = extraRoutes;
        this.grpc = grpc;
        this.drillSheds = drillSheds;
    }

    @Override
    public Future<?> start() {
        Router router = Router.router(vertx);
        NativeApi nativeApi = new NativeApi(models, config, routing, metrics);
        V2Api v2 = new V2Api(models, routing);
        AdminApi admin = new AdminApi(models);

        router.route().handler(this::begin);
        startGuard();

        // Inference routes shed at the edge (OverloadGuard) after their body is read: a 429 still echoes its id.
        // The body buffer is sized from Content-Length up front (Vert.x caps that at 64 KiB and at the limit), so a
        // ranker body is not copied through 1, 2, 4 and 8 KiB buffers on its way in.
        BodyHandler smallBody = BodyHandler.create(false).setBodyLimit(config.maxRankBodyBytes())
                .setPreallocateBodyBuffer(true);
        BodyHandler inferBody = BodyHandler.create(false).setBodyLimit(config.maxInferBodyBytes())
                .setPreallocateBodyBuffer(true);

        router.postWithRegex("/v1/rank:score").handler(smallBody).handler(shed("rank")).handler(named("rank", nativeApi::rank));
        router.post("/v1/moderate").handler(smallBody).handler(shed("moderate")).handler(named("moderate", nativeApi::moderate));
        String old = config.deprecatedApiVersion();
        if (old != null && !old.isBlank()) {
            Handler<RoutingContext> deprecation = ctx -> {
                // RFC 9745 Deprecation, RFC 8594 Sunset, and where to go instead.
                ctx.response().putHeader("deprecation", "@" + Instant.parse("2026-01-01T00:00:00Z").getEpochSecond())
                        .putHeader("sunset", config.deprecatedApiSunset())
                        .putHeader("link", "</v1" + ctx.request().path().substring(old.length() + 1) + ">; rel=\"successor-version\"");
                ctx.next();
            };
            router.postWithRegex("/" + java.util.regex.Pattern.quote(old) + "/rank:score").handler(smallBody)
                    .handler(deprecation).handler(shed("rank_deprecated")).handler(named("rank_deprecated", nativeApi::rank));
            router.post("/" + old + "/moderate").handler(smallBody).handler(deprecation).handler(shed("moderate_deprecated"))
                    .handler(named("moderate_deprecated", nativeApi::moderate));
        }

        router.get("/v2").handler(named("v2_metadata", v2::serverMetadata));
        router.get("/v2/health/live").handler(named("v2_live", v2::live));
        router.get("/v2/health/ready").handler(named("v2_ready", v2::ready));
        router.get("/v2/models/:model").handler(named("v2_model_metadata", v2::modelMetadata));
        router.get("/v2/models/:model/ready").handler(named("v2_model_ready", v2::modelReady));
        router.get("/v2/models/:model/versions/:version").handler(named("v2_model_metadata", v2::modelMetadata));
        router.get("/v2/models/:model/versions/:version/ready").handler(named("v2_model_ready", v2::modelReady));
        router.post("/v2/models/:model/infer").handler(inferBody).handler(shed("v2_infer")).handler(named("v2_infer", v2::infer));
        router.post("/v2/models/:model/versions/:version/infer").handler(inferBody).handler(shed("v2_infer"))
                .handler(named("v2_infer", v2::infer));

        if (config.adminEnabled()) {
            if (!config.adminToken().isEmpty()) {
                // First on /admin, before any admin route (the router's own and the extra ones below) can match.
                router.route("/admin/*").handler(this::authorizeAdmin);
            }
            if (extraRoutes != null) { // first: a replica in a cluster sends some admin calls to its peers
                extraRoutes.accept(router);
            }
            admin.mount(router, "", h -> named("admin", h));
        }
        router.get("/metrics").handler(this::scrape);

        router.route().last().handler(ctx -> HttpErrors.send(ctx,
                WeirException.notFound("no route for " + ctx.request().method() + " " + ctx.request().path()), RequestContext.requestId(ctx)));
        router.route().failureHandler(this::failure);

        HttpServerOptions options = new HttpServerOptions()
                .setHost(config.httpHost())
                .setPort(config.httpPort())
                .setHttp2ClearTextEnabled(true)
                .setCompressionSupported(false)
                .setTcpNoDelay(true);
        Handler<HttpServerRequest> requests = router;
        if (grpc != null) {
            Handler<HttpServerRequest> grpcHandler = grpc.apply(vertx);
            requests = req -> {
                String type = req.getHeader("content-type");
                if (type != null && type.startsWith("application/grpc")) {
                    grpcHandler.handle(req);
                } else {
                    router.handle(req);
                }
            };
        }
        // Counted here because Vert.x's own HTTP server metrics are off (WeirServer): a connection is counted on the
        // loop that serves it, once when it opens and once when it closes.
        metrics.openConnections(Thread.currentThread().getName(), openConnections::get);
        return vertx.createHttpServer(options)
                .connectionHandler(connection -> {
                    openConnections.incrementAndGet();
                    connection.closeHandler(v -> openConnections.decrementAndGet());
                })
                .requestHandler(requests).listen().onSuccess(s -> server = s);
    }

    /** Wraps a handler so that a thrown WeirException becomes an error response, and tags the route for metrics. */
    private static Handler<RoutingContext> named(String route, Handler<RoutingContext> h) {
        return ctx -> {
            ctx.put("weir.route", route);
            try {
                h.handle(ctx);
            } catch (RuntimeException e) {
                HttpErrors.send(ctx, e, RequestContext.requestId(ctx));
            }
        };
    }

    private void startGuard() {
        guard = new OverloadGuard(GUARD_PERIOD_NANOS, System.nanoTime());
        metrics.eventLoopLag(Thread.currentThread().getName(), () -> guard.lagNanos(System.nanoTime()) / 1e9);
        scheduleTick();
    }

    private void scheduleTick() {
        if (!stopped) {
            tickTimer = vertx.setTimer(GUARD_PERIOD_NANOS / 1_000_000, id -> {
                guard.tick(System.nanoTime());
                scheduleTick();
            });
        }
    }

    /**
     * The edge guard of one inference route, named where the route is registered: whatever path Vert.x matched to
     * it (a trailing slash, say), the guard knows which route and model it is guarding.
     */
    private Handler<RoutingContext> shed(String route) {
        return ctx -> shedWhenBehind(ctx, route);
    }

    private void shedWhenBehind(RoutingContext ctx, String route) {
        if (drillSheds != null && drillSheds.getAsBoolean()) {
            metrics.shed(route);
            answerUnparsed(ctx, route, WeirException.exhausted("shed by a chaos drill (PUT /admin/chaos/shed), as if "
                    + "the gateway were overloaded; retry later", 1));
            return;
        }
        if (config.shedBudgetFraction() <= 0) {
            admit(ctx, System.nanoTime(), route);
            return;
        }
        if (warmUpLeft > 0) {
            warmUpLeft--;
            ctx.next();
            return;
        }
        long now = System.nanoTime();
        if (!guard.overloaded(now, shedThresholdNanos(route, ctx, now))) {
            admit(ctx, now, route);
            return;
        }
        metrics.shed(route);
        answerUnparsed(ctx, route, WeirException.exhausted("the gateway is overloaded (event loop "
                + guard.lagNanos(now) / 1_000_000 + " ms behind); retry later", 1));
    }

    /** With {@code admin.token} set, an admin request must carry {@code Authorization: Bearer <token>}. */
    private void authorizeAdmin(RoutingContext ctx) {
        if (BearerToken.presented(ctx, config.adminToken())) {
            ctx.next();
            return;
        }
        ctx.response().putHeader("www-authenticate", "Bearer");
        HttpErrors.send(ctx, new WeirException(io.weir.runtime.ErrorCode.UNAUTHENTICATED,
                "the admin API needs 'Authorization: Bearer <admin.token>'"), RequestContext.requestId(ctx));
    }

    /** A 429 or 504 decided at the edge: no parse, but the native API's answer still echoes the body's request_id. */
    private void answerUnparsed(RoutingContext ctx, String route, WeirException error) {
        ctx.put("weir.route", route);
        if (route.startsWith("rank") || route.startsWith("moderate")) {
            // Found by a token scan, not a parse (RequestContext).
            String id = RequestContext.scanRequestId(ctx.body().buffer());
            if (id != null) {
                ctx.put(RequestContext.REQUEST_ID, id);
            }
        }
        HttpErrors.send(ctx, error, RequestContext.requestId(ctx));
    }

    /**
     * {@code http.deadline.lag.reserve}: an admitted request read by a loop running late sat about that long unseen
     * in socket buffers, and its answer will wait about as long to be written, so that much of its deadline is
     * counted as spent before the batcher sees it (its predicted-wait 429 and its 504 then act on it). Without it the
     * admitted p99 of a client that propagates its deadline reached the budget plus twice the shedding threshold
     * (docs/PERF.md, "A client that propagates its deadline"). A request whose {@code x-weir-timeout-ms} that already
     * uses up is answered DEADLINE_EXCEEDED here, before its body is parsed: parsing work that can only be thrown away
     * is what an overloaded loop can least afford. (A malformed header is left to the API handler's error.) Off by
     * default: on the development VM it lowered that p99, but 2 cost the ranker goodput past its CPU ceiling (runs
     * 113-114) and 1 was measured in three rounds only (run 115).
     */
    private void admit(RoutingContext ctx, long now, String route) {
        if (config.deadlineLagReserve() > 0) {
            long lag = guard.lagNanos(now);
            long unseen = (long) (config.deadlineLagReserve() * lag);
            long timeoutMs = unseen > 0 ? headerTimeoutMillisOrZero(ctx) : 0;
            if (timeoutMs > 0 && TimeUnit.MILLISECONDS.toNanos(timeoutMs) <= unseen) {   // saturates, never negative
                metrics.expiredAtEdge(route);
                answerUnparsed(ctx, route, WeirException.deadline("the " + timeoutMs + " ms timeout ran out unseen (event loop "
                        + lag / 1_000_000 + " ms behind, counted " + config.deadlineLagReserve() + " times)"));
                return;
            }
            ctx.put(RequestContext.UNSEEN_NANOS, unseen);
        }
        ctx.next();
    }

    /** The {@code x-weir-timeout-ms} header's timeout; 0 when absent or malformed (the API handler reports that). */
    private static long headerTimeoutMillisOrZero(RoutingContext ctx) {
        try {
            return Bodies.timeoutMillis(ctx, null);
        } catch (WeirException malformed) {
            return 0;
        }
    }

    /**
     * The shedding threshold for a request: the configured fraction of the budget of the model its route serves
     * (the newest ready version's), never below {@code http.shed.min.lag.ms}, cached per model on this loop for a
     * second (models the registry knows only). 0 (never shed) for a model that is unknown or not ready: its answer is
     * a cheap 404 or 503 anyway.
     *
     * <p>The floor ({@code http.shed.min.lag.ms}) is 20 ms by default, 40 until runs 101-103. 40 was chosen when the CI
     * smoke's light load, Gatling on the same 2 cores, had 1-3 of its 900 requests shed at 17.5-28 ms (the smoke runs
     * with shedding off since). On that VM under open load, moderation (threshold 28 ms at 20, 40 at 40) kept the
     * admitted p99 within its 80 ms budget at 32 of 36 points against 17, with the same goodput (docs/PERF.md, "Edge
     * shedding's floor"): a stall past 28 ms there is load, not noise (the GC pauses grow with the connections the
     * load brings). A deployment whose one-off stalls reach the floor at light load raises it;
     * {@code weir_http_eventloop_lag_seconds} shows them.
     */
    private long shedThresholdNanos(String route, RoutingContext ctx, long now) {
        String model = route.startsWith("rank") ? config.rankModel()
                : route.startsWith("moderate") ? config.moderateModel() : ctx.pathParam("model");
        if (model == null) {
            return 0;
        }
        long[] cached = shedThresholds.get(model);
        if (cached == null && !models.registry().knows(model)) {
            // Not cached: the path names the model, so each new name a client made up would stay here for good.
            return 0;
        }
        if (cached == null || now - cached[1] > 1_000_000_000L) {
            long threshold = models.registry().latestReady(model)
                    .flatMap(v -> models.registry().peek(new ModelKey(model, v)))
                    .map(h -> Math.max(config.shedMinLagMillis() * 1_000_000L,
                            (long) (h.config().latencyBudgetNanos() * config.shedBudgetFraction())))
                    .orElse(0L);
            cached = new long[] {threshold, now};
            shedThresholds.put(model, cached);
        }
        return cached[0];
    }

    /** How many models' thresholds this loop holds (tests; read it while the loop is idle). */
    int shedThresholdsCached() {
        return shedThresholds.size();
    }

    @Override
    public Future<?> stop() {
        stopped = true;
        if (tickTimer >= 0) {
            vertx.cancelTimer(tickTimer);
        }
        return Future.succeededFuture();
    }

    private void begin(RoutingContext ctx) {
        ctx.put(RequestContext.START, System.nanoTime());
        ctx.addEndHandler(v -> {
            String route = ctx.get("weir.route");
            if (route == null) {
                return;
            }
            ErrorCode code = ctx.get(RequestContext.ERROR_CODE);
            long start = ctx.get(RequestContext.START);
            metrics.record(route, ctx.get(RequestContext.MODEL), ctx.get(RequestContext.VERSION), ctx.get(RequestContext.ARM),
                    code == null ? "OK" : code.name(), System.nanoTime() - start);
        });
        ctx.next();
    }

    /**
     * The Prometheus text is rendered on a worker thread, not on the event loop that read the scrape: with every
     * timer's percentile histogram it takes milliseconds (tens under load on two cores), and a loop held that long
     * runs late enough for its {@link OverloadGuard} to shed the inference requests it reads next, at any load, once
     * a scrape interval.
     */
    private void scrape(RoutingContext ctx) {
        vertx.executeBlocking(prometheus::scrape, false).onComplete(text -> {
            if (text.succeeded()) {
                ctx.response().putHeader("content-type", "text/plain; version=0.0.4; charset=utf-8").end(text.result());
            } else {
                ctx.fail(text.cause());
            }
        });
    }

    private void failure(RoutingContext ctx) {
        Throwable t = ctx.failure();
        WeirException e;
        if (ctx.statusCode() == 413) {
            e = new WeirException(ErrorCode.PAYLOAD_TOO_LARGE, "request body exceeds the limit for this route");
        } else if (t == null && ctx.statusCode() == 400) {
            e = WeirException.invalid("malformed request");
        } else if (t == null && ctx.statusCode() == 404) {
            e = WeirException.notFound("not found");
        } else if (t == null) {
            e = new WeirException(ErrorCode.INTERNAL, "internal error (status " + ctx.statusCode() + ")");
        } else {
            e = HttpErrors.classify(t);
        }
        if (ctx.get("weir.route") == null) {
            // Failed before its handler ran (a body over the limit, say): name the route from the path.
            ctx.put("weir.route", routeOf(ctx.request().path()));
        }
        HttpErrors.send(ctx, e, RequestContext.requestId(ctx));
    }

    private String routeOf(String path) {
        return routeOf(path, config.deprecatedApiVersion());
    }

    /** The route name of a request path, for a failure before the route's own handler named it. */
    static String routeOf(String path, String deprecatedApiVersion) {
        if (path == null) {
            return "other";
        }
        if (path.length() > 1 && path.endsWith("/")) {
            // Vert.x routes /v1/moderate/ to the moderate route: a failure there is the moderate route's too.
            path = path.substring(0, path.length() - 1);
        }
        String deprecated = deprecatedApiVersion == null || deprecatedApiVersion.isBlank()
                ? null : "/" + deprecatedApiVersion + "/";
        String suffix = deprecated != null && path.startsWith(deprecated) ? "_deprecated" : "";
        if (path.endsWith("/rank:score")) {
            return "rank" + suffix;
        }
        if (path.endsWith("/moderate")) {
            return "moderate" + suffix;
        }
        if (path.startsWith("/v2/") && path.endsWith("/infer")) {
            return "v2_infer";
        }
        return "other";
    }

    public int actualPort() {
        return server.actualPort();
    }
}
