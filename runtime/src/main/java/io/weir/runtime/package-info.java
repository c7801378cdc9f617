/**
 * The runtime's core API: tensors and their specs, model configs and artifacts, the {@link io.weir.runtime.Backend}
 * interface that execution engines implement, the {@link io.weir.runtime.ModelRegistry} of loaded versions, the one
 * error table ({@link io.weir.runtime.ErrorCode}, {@link io.weir.runtime.WeirException}) and the injected
 * {@link io.weir.runtime.Ticker}. Must not depend on batching, routing or any server.
 */
package io.weir.runtime;
