package io.weir.router;

import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;

/**
 * The gateway's hot-path view of the rollouts: which arm and version serve a request, what happened to it, and the
 * hand-off of sampled requests to the shadow version. Every method is cheap, never blocks and is safe from any thread
 * (event loops included): routing reads an immutable snapshot, recording adds to striped counters, mirroring only
 * offers to a bounded queue.
 */
public interface Router {

    /**
     * Chooses the arm and version for one request.
     *
     * <ol>
     *   <li>a forced arm (the value of the {@link #forceHeader(String) force header}) wins: {@code primary},
     *       {@code canary} or {@code shadow} — the latter two only when the rollout names such a version;</li>
     *   <li>an allow-listed user gets the canary (while its rollout is running), a deny-listed user the primary;</li>
     *   <li>otherwise the user's sticky point {@code hash(salt, userId) mod 10000} is compared with the canary weight
     *       in basis points: below it means canary. Raising the weight therefore only moves users from primary to
     *       canary. A request without a user id is placed by its request id instead, so it is not sticky.</li>
     * </ol>
     * Requests served by the primary are sampled for shadowing by their request id at the shadow sample rate.
     * A model without a rollout is served by its newest READY version on the primary arm.
     *
     * @param userId    the caller's user id, or null
     * @param requestId the request's id, or null
     * @param forcedArm the force header's value, or null
     * @throws io.weir.runtime.WeirException INVALID_ARGUMENT for a bad forced arm, NOT_FOUND when nothing serves the model
     */
    Route route(String model, String userId, String requestId, String forcedArm);

    /** The header a client sets to force an arm for this model ({@code x-weir-variant} unless configured). */
    String forceHeader(String model);

    /** Records a served response: latency (end to end as the gateway measured it) and its scores, split by arm. */
    void recordSuccess(Route route, long latencyNanos, InferenceResult result);

    /** Records a failed request; server-side failures (INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED) count against the version. */
    void recordFailure(Route route, long latencyNanos, Throwable failure);

    /**
     * Mirrors a request that the primary already answered to the route's shadow version. Call it after the response was
     * sent; it returns at once, and a full shadow queue drops the work (counted) rather than wait. A no-op when the
     * route is not {@link Route#mirrored() mirrored}.
     */
    void mirror(Route route, InferenceRequest primaryRequest, InferenceResult primaryResult);
}
