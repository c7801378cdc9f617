package io.weir.gateway.grpc;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.http.HttpErrors;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;
import io.weir.runtime.embedding.EmbeddingIndexStore;
import io.weir.runtime.embedding.SimilarService;

import java.io.IOException;
import java.util.function.Consumer;

/**
 * Operating the embedding index: {@code POST /admin/similar/refresh} (load the newest file version now and swap it
 * in; answers what it did) and the index's metrics. Stateless apart from what it is given.
 */
public final class SimilarAdmin {
    public static final String REFRESH_PATH = "/admin/similar/refresh";

    private SimilarAdmin() {
    }

    /** Mounts {@value #REFRESH_PATH}; pass as (part of) HttpVerticle's {@code extraRoutes}. */
    public static Consumer<Router> routes(EmbeddingIndexStore store) {
        return routes(store, "");
    }

    /** As {@link #routes(EmbeddingIndexStore)}, under {@code prefix} (the cluster API serves it under {@code /cluster}). */
    public static Consumer<Router> routes(EmbeddingIndexStore store, String prefix) {
        return router -> router.post(prefix + REFRESH_PATH).handler(ctx -> refresh(ctx, store));
    }

    /**
     * The refresh handler: 200 {@code {"swapped", "previous_version", "version"}}; a new file that fails its checksum
     * or validation is refused (INTERNAL, with the reason) and the served version stays.
     */
    public static void refresh(RoutingContext ctx, EmbeddingIndexStore store) {
        ctx.put("weir.route", "admin");
        ctx.vertx().executeBlocking(store::refresh, false).onComplete(ar -> {
            if (ar.succeeded()) {
                EmbeddingIndexStore.RefreshResult r = ar.result();
                ctx.response().putHeader("content-type", "application/json").end(new JsonObject()
                        .put("swapped", r.swapped()).put("previous_version", r.previousVersion())
                        .put("version", r.version()).toBuffer());
            } else if (ar.cause() instanceof IOException e) {
                HttpErrors.send(ctx, new WeirException(ErrorCode.INTERNAL, "refresh refused: " + e.getMessage()), null);
            } else {
                HttpErrors.send(ctx, ar.cause(), null);
            }
        });
    }

    /**
     * Registers {@code weir_similar_index_age_seconds} (since the served version was swapped in; NaN before any),
     * {@code weir_similar_index_built_timestamp_seconds}, {@code weir_similar_index_swaps_total},
     * {@code weir_similar_queue_depth}, {@code weir_similar_batches_total} and {@code weir_similar_queries_total}.
     */
    public static void bindMetrics(MeterRegistry registry, SimilarService similar) {
        EmbeddingIndexStore store = similar.store();
        Gauge.builder("weir.similar.index.age", store, s -> s.ageNanos() < 0 ? Double.NaN : s.ageNanos() / 1e9)
                .description("seconds since the served embedding index version was swapped in").baseUnit("seconds")
                .strongReference(true).register(registry);
        Gauge.builder("weir.similar.index.built.timestamp", store, s -> s.builtAtEpochMillis() < 0 ? Double.NaN : s.builtAtEpochMillis() / 1e3)
                .description("when the served embedding index file was built (unix seconds)").baseUnit("seconds")
                .strongReference(true).register(registry);
        FunctionCounter.builder("weir.similar.index.swaps", store, EmbeddingIndexStore::swaps)
                .description("embedding index versions swapped in, the first load included").register(registry);
        Gauge.builder("weir.similar.queue.depth", similar, SimilarService::queued)
                .description("GetSimilar queries waiting for the batcher").strongReference(true).register(registry);
        FunctionCounter.builder("weir.similar.batches", similar, SimilarService::batches)
                .description("search passes (each serves a batch of queries)").register(registry);
        FunctionCounter.builder("weir.similar.queries", similar, SimilarService::queriesSearched)
                .description("queries searched").register(registry);
    }
}
