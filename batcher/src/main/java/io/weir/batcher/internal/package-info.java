/**
 * The batching machinery behind {@link io.weir.batcher.BatchingDispatcher}: one {@link io.weir.batcher.internal.Lane}
 * per model version (a Disruptor ring, its admission control and its batch-forming consumer
 * {@link io.weir.batcher.internal.BatchFormer}), the {@link io.weir.batcher.internal.BatchRunner} that computes a
 * batch on a backend with CPU fallback, the executors and device health shared by all lanes
 * ({@link io.weir.batcher.internal.Backends}) and per-version metrics ({@link io.weir.batcher.internal.LaneMetrics}).
 *
 * <p>Owns: rings, batching threads, worker pools, in-flight accounting, the answer to every admitted request (each
 * answered exactly once). Must not touch: HTTP, Vert.x contexts (callers hop back themselves), model loading (it
 * only takes and releases {@link io.weir.runtime.ModelHandle} leases), routing. Classes are public only so that the
 * dispatcher in the parent package can reach them; they are not API.
 */
package io.weir.batcher.internal;
