/**
 * Load that drives a running gateway from outside, over loopback only: the Gatling smoke simulation that runs in
 * {@code verify}, the batching-policy sweep ({@link io.weir.perf.gatling.PolicySweepSimulation}, run by
 * {@code perf/sweep/run-sweep.sh}) and the same sweep's load through a bounded connection pool
 * ({@link io.weir.perf.gatling.BoundedPoolLoad}). Owns no production code and must not be depended on by it; it
 * talks to the gateway only over HTTP and reads /proc for CPU time.
 */
package io.weir.perf.gatling;
