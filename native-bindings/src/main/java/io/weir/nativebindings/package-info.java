/**
 * Weir's GPU layer: thin, checked, lifetime-safe wrappers over the CUDA driver API (jextract
 * bindings in {@code io.weir.nativebindings.cuda.gen}), cuBLAS and NVRTC (hand-written FFM
 * downcalls), and the CUDA C kernels of {@code weir_kernels.cu}.
 *
 * <p>Owns: probing for a GPU ({@link io.weir.nativebindings.Cuda#probe()}), contexts, streams,
 * device/pinned memory, modules and launches, events, CUDA graphs, cuBLAS handles, error
 * mapping ({@link io.weir.nativebindings.CudaError}, {@link io.weir.nativebindings.GpuException}).
 * Every driver result is checked; nothing here returns a raw error code.
 *
 * <p>Must not touch: models, tensors, batching or any policy (what runs where, retries, health):
 * that belongs to {@code io.weir.runtime.cuda} and above. Nothing here may load libcuda eagerly —
 * class loading and {@code Cuda.probe()} must work, and report "no GPU", on machines without one.
 */
package io.weir.nativebindings;
