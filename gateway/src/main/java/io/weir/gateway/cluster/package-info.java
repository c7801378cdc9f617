/**
 * Rollouts shared by the replicas of one deployment: the cluster API between replicas (their state, and rollout admin
 * calls forwarded to the leader), the choice of the leader, and the follower's sync. See {@link
 * io.weir.gateway.cluster.ClusterMember}.
 *
 * <p>Owns: replica-to-replica HTTP and which replica decides the rollouts. Must not touch: what a rollout is or how it
 * is judged (the router module), models, batching or inference — models load, batching overrides and chaos faults stay
 * per replica.
 */
package io.weir.gateway.cluster;
