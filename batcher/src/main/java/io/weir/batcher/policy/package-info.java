/**
 * Batching policies: given what is waiting for a model version, decide whether to start a batch now (and how many
 * rows to take) or how long to wait. Owns the policy interface, the three policies ({@code none}, {@code fixed},
 * {@code adaptive}), their configuration ({@link io.weir.batcher.policy.PolicySpec}) and the compute-time model
 * ({@link io.weir.batcher.policy.LatencyModel}) that the adaptive policy and admission control predict with.
 *
 * <p>Must not touch: rings, threads, backends, futures or clocks. Policies are pure decisions over a
 * {@link io.weir.batcher.policy.PendingView} and a time handed in by the caller, which is what makes them testable
 * without sleeping.
 */
package io.weir.batcher.policy;
