package io.weir.gateway.http;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.weir.batcher.BatchingDispatcher;
import io.weir.batcher.LatencySnapshot;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.WeirException;
import io.weir.runtime.repository.Versions;

import java.util.Locale;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * A model's batching policy at run time, without a restart or a reload: {@code GET /admin/models/:model/batching},
 * {@code PUT} with a policy in the model config's {@code batching} format (for example
 * {@code {"policy":"fixed","max_queue_delay_us":2000}}; it applies to every version of the model, loaded or loaded
 * later) and {@code DELETE} (back to the config's own, or to {@code WEIR_BATCHING_POLICY} when that is set). Each
 * answer lists the policy each loaded version batches with now. A bad policy is refused with INVALID_ARGUMENT and
 * changes nothing. Capacity planners use it to compare policies on one warm server (perf/sweep/run-sweep.sh
 * {@code --interleave}); operators to change a policy without dropping the JIT-warm process.
 *
 * <p>{@code GET /admin/models/:model/latency}: the batcher's own percentiles for each loaded version and backend, from
 * its HdrHistogram recorders: queue wait (enqueue to compute start) and total (enqueue to answer) per request, compute
 * per batch, over the interval since the previous roll ({@code window_ms}; the recorders roll at most once a second,
 * so readers share an interval). What this replica's batching adds to a request, apart from the HTTP path; the
 * Prometheus histograms give the same stages across replicas, in buckets.
 */
public final class BatchingAdminApi implements Consumer<Router> {
    private static final Logger LOG = Logger.getLogger(BatchingAdminApi.class.getName());

    private final BatchingDispatcher batcher;
    private final ModelRegistry registry;
    private final String prefix;

    public BatchingAdminApi(BatchingDispatcher batcher, ModelRegistry registry) {
        this(batcher, registry, "");
    }

    /** @param prefix put before every path: the cluster API serves the same calls under {@code /cluster} */
    public BatchingAdminApi(BatchingDispatcher batcher, ModelRegistry registry, String prefix) {
        this.batcher = batcher;
        this.registry = registry;
        this.prefix = prefix;
    }

    @Override
    public void accept(Router router) {
        String path = prefix + "/admin/models/:model/batching";
        router.get(path).handler(ctx -> answer(ctx, () -> model(ctx)));
        router.put(path).handler(BodyHandler.create(false).setBodyLimit(4096)).handler(ctx -> answer(ctx, () -> {
            String model = model(ctx);
            JsonObject policy = Bodies.object(ctx);
            batcher.overridePolicy(model, policy);
            LOG.info("batching policy of " + model + " set at run time: " + policy.encode());
            return model;
        }));
        router.delete(path).handler(ctx -> answer(ctx, () -> {
            String model = model(ctx);
            batcher.overridePolicy(model, null);
            LOG.info("batching policy of " + model + " back to its config");
            return model;
        }));
        router.get(prefix + "/admin/models/:model/latency").handler(this::latency);
    }

    /** The model named in the path, which the repository must have. */
    private String model(RoutingContext ctx) {
        String model = ctx.pathParam("model");
        if (!Versions.isSafeName(model)) {
            throw WeirException.invalid("model must be a plain name");
        }
        if (registry.repository().versions(model).isEmpty()) {
            throw WeirException.notFound("the repository has no model " + model);
        }
        return model;
    }

    private void latency(RoutingContext ctx) {
        ctx.put("weir.route", "admin");
        try {
            String model = model(ctx);
            JsonObject versions = new JsonObject();
            for (LatencySnapshot s : batcher.latencySnapshots(model)) {
                JsonObject version = versions.getJsonObject(s.model().version());
                if (version == null) {
                    version = new JsonObject();
                    versions.put(s.model().version(), version);
                }
                JsonObject backend = version.getJsonObject(s.backend());
                if (backend == null) {
                    backend = new JsonObject().put("window_ms", round(s.windowMs()));
                    version.put(s.backend(), backend);
                }
                backend.put(s.stage().name().toLowerCase(Locale.ROOT), new JsonObject().put("count", s.count())
                        .put("p50_ms", round(s.p50Ms())).put("p95_ms", round(s.p95Ms()))
                        .put("p99_ms", round(s.p99Ms())).put("max_ms", round(s.maxMs())));
            }
            Bodies.sendJson(ctx, 200, new JsonObject().put("model", model).put("versions", versions), null, null);
        } catch (RuntimeException e) {
            HttpErrors.send(ctx, e, RequestContext.requestId(ctx));
        }
    }

    /** To the microsecond: finer than the recorders' buckets (under 1% wide) at any value worth reading. */
    private static double round(double ms) {
        return Math.round(ms * 1000) / 1000.0;
    }

    private void answer(RoutingContext ctx, Supplier<String> action) {
        ctx.put("weir.route", "admin");
        try {
            String model = action.get();
            JsonObject versions = new JsonObject();
            batcher.policies(model).forEach(versions::put);
            JsonObject body = new JsonObject().put("model", model).put("versions", versions)
                    .put("override", batcher.policyOverride(model).orElse(null));
            Bodies.sendJson(ctx, 200, body, null, null);
        } catch (RuntimeException e) {
            HttpErrors.send(ctx, e, RequestContext.requestId(ctx));
        }
    }
}
