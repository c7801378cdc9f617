/**
 * The HTTP APIs (native {@code /v1}, KServe v2 REST, admin, metrics) on Vert.x Web, edge validation, and the one
 * error table's HTTP mapping ({@link io.weir.gateway.http.HttpErrors}). Handlers validate and translate; they never
 * run inference themselves (that is {@link io.weir.gateway.ModelService}) and never block an event loop.
 */
package io.weir.gateway.http;
