/**
 * Release practice built into the gateway: per-model rollouts (primary, sticky canary, shadow), forced arms, staged
 * rollout with gates and automatic rollback, shadow comparison, and the audited admin operations.
 *
 * <p>Owns: the public API the gateway uses — {@link io.weir.router.Rollouts} (assembly and lifecycle),
 * {@link io.weir.router.Router} (hot path), {@link io.weir.router.RolloutAdmin} (run-time control),
 * {@link io.weir.router.RolloutConfig}, {@link io.weir.router.Route}, {@link io.weir.router.Arm},
 * {@link io.weir.router.ModelCatalog}, {@link io.weir.router.GoldenCheck}, {@link io.weir.router.Followed}.
 * Implementations live in {@code io.weir.router.internal}. A replica's rollouts either lead (decided here) or follow
 * another replica's ({@link io.weir.router.Rollouts#follow}), whose guard then judges this replica's traffic too
 * ({@link io.weir.router.Rollouts#exportWindows}); how replicas talk is the gateway's concern.
 *
 * <p>Must not touch: HTTP/gRPC (the gateway maps routes, headers and errors), model loading (the registry), batching
 * (the dispatcher is only called, for shadow requests and golden replays).
 */
package io.weir.router;
