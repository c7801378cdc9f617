/**
 * Fault injection for drills: a {@link io.weir.chaos.ChaosBackend} decorator that adds latency and failures to a real
 * backend's batches, steered at run time through a {@link io.weir.chaos.FaultInjector}; a
 * {@link io.weir.chaos.Partition} that cuts a replica's cluster traffic off from chosen peers; and a
 * {@link io.weir.chaos.ShedDrill} that has the HTTP edge shed a share of inference requests. The gateway installs
 * them only when {@code chaos.enabled} is true (a partition nobody can set, otherwise). Must never be on the request
 * path otherwise, and never changes a result it lets through.
 */
package io.weir.chaos;
