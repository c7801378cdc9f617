/**
 * gRPC on the HTTP port (h2c): the KServe v2 {@code inference.GRPCInferenceService}, the standard
 * {@code grpc.health.v1.Health} service and Weir's {@code weir.similar.v1.Similar} embedding search, plus the admin
 * route that refreshes the embedding index and its metrics. {@link io.weir.gateway.grpc.GrpcEndpoints} is the one
 * entry point the server wires up.
 *
 * <p>Owns: the gRPC call lifecycle (deadline from {@code grpc-timeout}, exactly one answer per call, status mapping
 * from the one error table via {@link io.weir.runtime.ErrorCode#grpcStatus()}). Must not touch: model resolution,
 * routing or dispatching (inference goes through {@link io.weir.gateway.ModelService} and
 * {@link io.weir.gateway.http.Routing} exactly as REST does), nor the HTTP routes other than the one it mounts.
 */
package io.weir.gateway.grpc;
