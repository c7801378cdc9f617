/**
 * The HTTP APIs (native {@code /v1}, KServe v2 REST, admin, metrics) on Vert.x Web, edge validation, and the one
 * error table's HTTP mapping ({@link io.weir.gateway.http.HttpErrors}). Handlers validate and translate; they never
 * run inference themselves (that is {@link io.weir.gateway.ModelService}) and never block an event loop. Overload
 * is shed here first, by how far behind the reading event loop runs (the package-private {@code OverloadGuard}),
 * because requests queued in sockets are invisible to the batcher's own admission.
 */
package io.weir.gateway.http;
