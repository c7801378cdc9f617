/**
 * Fault injection for drills: a {@link io.weir.chaos.ChaosBackend} decorator that adds latency and failures to a real
 * backend's batches, steered at run time through a {@link io.weir.chaos.FaultInjector}. The gateway installs it only
 * when {@code chaos.enabled} is true. Must never be on the request path otherwise, and never changes a result it lets
 * through.
 */
package io.weir.chaos;
