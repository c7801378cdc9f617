/**
 * Implementations behind {@code io.weir.router}: the rollout store (validation, file, audit), the routing snapshot and
 * sticky assignment, per-arm statistics and evaluation windows, gates, the rollout guard, the shadow mirror and diff
 * log, and the golden-set replay. Public only so the facade can assemble them; the gateway should use the
 * {@code io.weir.router} API.
 *
 * <p>Must not touch: anything outside the router module's state — it reads loaded models through
 * {@link io.weir.router.ModelCatalog} and sends work through {@link io.weir.batcher.InferenceDispatcher} only.
 */
package io.weir.router.internal;
