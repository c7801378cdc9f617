/**
 * The batcher's public face: {@link io.weir.batcher.InferenceDispatcher} and its request/result types, the
 * {@link io.weir.batcher.BatchingDispatcher} (a Disruptor ring per model version and the batching policies), the
 * per-request {@link io.weir.batcher.DirectDispatcher} baseline, the health interface a GPU backend implements, and
 * {@link io.weir.batcher.HostCpuLoad}, the host CPU reading that lets the adaptive policy see cores it shares.
 * Owns queueing, batch forming, deadlines, shedding and backend fallback. Must not know about HTTP, JSON, routing
 * or rollouts: it sees model versions, tensors and deadlines only.
 */
package io.weir.batcher;
