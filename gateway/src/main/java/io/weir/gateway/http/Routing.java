package io.weir.gateway.http;

import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.runtime.ModelKey;

import java.util.function.UnaryOperator;

/**
 * Chooses the version and arm that serve a request, and hears how it went. The router module's rollouts
 * (primary/canary/shadow) stand behind this in the server; an explicitly requested version bypasses the rollout.
 */
public interface Routing {

    /**
     * The version that serves a request and the arm it belongs to ({@code primary}, {@code canary}, {@code shadow}, or
     * {@code pinned} when the client named the version). {@code token} is the routing decision the implementation
     * needs back in {@link #completed}/{@link #failed} (null for pinned requests).
     */
    record Selection(ModelKey key, String arm, Object token) {
    }

    /**
     * @param requestedVersion the client's explicit version, or null
     * @param userId           the sticky key for canary assignment, or null
     * @param headers          the request's headers (HTTP headers or gRPC metadata) by lower-case name; a forced arm is
     *                         read from here
     */
    Selection select(String model, String requestedVersion, String userId, String requestId, UnaryOperator<String> headers);

    /** Called after a successful response was sent: per-arm statistics and shadow mirroring hang off this. */
    default void completed(Selection selection, InferenceRequest request, InferenceResult result, long latencyNanos) {
    }

    default void failed(Selection selection, Throwable error, long latencyNanos) {
    }
}
