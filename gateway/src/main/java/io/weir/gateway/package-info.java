/**
 * The server: {@link io.weir.gateway.WeirServer} builds and wires every part (registry and backends, dispatcher,
 * rollouts, embedding search, HTTP and gRPC), {@link io.weir.gateway.Main} is the entry point, and
 * {@link io.weir.gateway.ModelService} is the one way from an API into inference. Owns wiring and lifecycle; protocol
 * details live in {@code http} and {@code grpc}, replicas sharing their rollouts in {@code cluster}, policy in the
 * router and batcher modules.
 */
package io.weir.gateway;
