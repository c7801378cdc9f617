/**
 * Rollouts shared by the replicas of one deployment: the cluster API between replicas (their state, rollout admin
 * calls forwarded to the leader, per-replica admin calls fanned out with {@code ?replicas=all}), the choice of the
 * leader, the follower's sync, and the note beside the rollout file that keeps a replica's rank across a restart. See
 * {@link io.weir.gateway.cluster.ClusterMember}.
 *
 * <p>Owns: replica-to-replica HTTP and which replica decides the rollouts. Must not touch: what a rollout is or how it
 * is judged (the router module), models, batching or inference — a fanned-out model or batching call is served by each
 * replica's own admin routes; chaos faults stay per replica (the drilled partition only cuts this package's calls).
 */
package io.weir.gateway.cluster;
