package io.weir.gateway;

import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.gateway.http.Routing;
import io.weir.router.Route;
import io.weir.router.Router;
import io.weir.runtime.WeirException;

import java.util.function.UnaryOperator;

/**
 * {@link Routing} backed by the router module: rollouts choose primary/canary per user, record per-arm statistics for
 * the gates, and mirror sampled primary requests to the shadow after the response is sent. A request naming its
 * version explicitly is served by that version on the {@code pinned} arm and stays out of the rollout's statistics.
 */
final class RolloutRouting implements Routing {
    private final ModelService models;
    private final Router router;

    RolloutRouting(ModelService models, Router router) {
        this.models = models;
        this.router = router;
    }

    @Override
    public Selection select(String model, String requestedVersion, String userId, String requestId, UnaryOperator<String> headers) {
        if (requestedVersion != null) {
            return new Selection(models.resolve(model, requestedVersion), "pinned", null);
        }
        if (!models.registry().knows(model)) {
            throw WeirException.notFound("unknown model '" + model + "'");
        }
        if (models.registry().latestReady(model).isEmpty()) {
            // Known to the repository but nothing loaded (failed or still loading): not ready, try again later.
            throw WeirException.unavailable("model '" + model + "' has no ready version");
        }
        Route route = router.route(model, userId, requestId, headers.apply(router.forceHeader(model)));
        return new Selection(route.key(), route.arm().header(), route);
    }

    @Override
    public void completed(Selection selection, InferenceRequest request, InferenceResult result, long latencyNanos) {
        if (selection.token() instanceof Route route) {
            router.recordSuccess(route, latencyNanos, result);
            router.mirror(route, request, result);
        }
    }

    @Override
    public void failed(Selection selection, Throwable error, long latencyNanos) {
        if (selection.token() instanceof Route route) {
            router.recordFailure(route, latencyNanos, error);
        }
    }
}
