package io.weir.router.internal;

import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.router.Arm;
import io.weir.router.ModelCatalog;
import io.weir.router.RolloutConfig;
import io.weir.router.Route;
import io.weir.router.Router;
import io.weir.runtime.ModelKey;
import io.weir.runtime.WeirException;

import java.util.concurrent.ThreadLocalRandom;

/**
 * The hot path: one volatile read of the {@link RoutingTable}, a map lookup and at most two string hashes per request.
 * Stateless apart from the table it reads; safe from any thread.
 */
public final class DefaultRouter implements Router {
    private final RolloutStore store;
    private final ModelCatalog catalog;
    private final RolloutStats stats;
    private final ShadowMirror shadow;

    public DefaultRouter(RolloutStore store, ModelCatalog catalog, RolloutStats stats, ShadowMirror shadow) {
        this.store = store;
        this.catalog = catalog;
        this.stats = stats;
        this.shadow = shadow;
    }

    @Override
    public Route route(String model, String userId, String requestId, String forcedArm) {
        Arm forced = Arm.parseForced(forcedArm);
        RoutingTable.Entry e = store.table().models().get(model);
        if (e == null) {
            if (forced == Arm.CANARY || forced == Arm.SHADOW) {
                throw WeirException.invalid("model '" + model + "' has no " + forced.header() + " version");
            }
            String latest = catalog.latestReady(model)
                    .orElseThrow(() -> WeirException.notFound("model '" + model + "' has no loaded version"));
            return new Route(model, Arm.PRIMARY, latest, null, requestId);
        }
        RolloutConfig c = e.config();
        Arm arm;
        if (forced != null) {
            arm = forced;
        } else if (userId != null && e.allowCanary() && c.allowUsers().contains(userId)) {
            arm = Arm.CANARY;
        } else if (userId != null && c.denyUsers().contains(userId)) {
            arm = Arm.PRIMARY;
        } else if (e.canaryPoints() > 0 && point(e.userSeed(), userId != null ? userId : requestId,
                Assignment.WEIGHT_POINTS) < e.canaryPoints()) {
            arm = Arm.CANARY;
        } else {
            arm = Arm.PRIMARY;
        }
        String version = switch (arm) {
            case PRIMARY -> c.primary();
            case CANARY -> c.canary();
            case SHADOW -> c.shadow();
        };
        if (version == null) {
            throw WeirException.invalid("model '" + model + "' has no " + arm.header() + " version");
        }
        String mirrorTo = arm == Arm.PRIMARY && e.shadowPoints() > 0
                && point(e.sampleSeed(), requestId, Assignment.SAMPLE_POINTS) < e.shadowPoints() ? c.shadow() : null;
        return new Route(model, arm, version, mirrorTo, requestId);
    }

    /** A key's point; without a key (no user id and no request id) a random one, so such requests spread by weight. */
    private static int point(long seed, String key, int points) {
        return key == null ? ThreadLocalRandom.current().nextInt(points) : Assignment.point(seed, key, points);
    }

    @Override
    public String forceHeader(String model) {
        RoutingTable.Entry e = store.table().models().get(model);
        return e == null ? RolloutConfig.DEFAULT_FORCE_HEADER : e.config().forceHeader();
    }

    @Override
    public void recordSuccess(Route route, long latencyNanos, InferenceResult result) {
        float[] scores = Scores.of(catalog.config(new ModelKey(route.model(), route.version())).orElse(null), result);
        stats.record(route, latencyNanos, null, scores);
    }

    @Override
    public void recordFailure(Route route, long latencyNanos, Throwable failure) {
        stats.record(route, latencyNanos, Scores.codeOf(failure), null);
    }

    @Override
    public void mirror(Route route, InferenceRequest primaryRequest, InferenceResult primaryResult) {
        if (route.mirrored()) {
            shadow.submit(route, primaryRequest, primaryResult);
        }
    }
}
