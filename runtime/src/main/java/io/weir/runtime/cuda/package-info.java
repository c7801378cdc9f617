/**
 * The CUDA inference backend: compiles supported ONNX graphs to an execution plan
 * ({@code OnnxPlanCompiler}), places weights on the GPU once, runs batches through pinned staging
 * buffers on per-worker streams with cuBLAS and Weir's kernels (CUDA graphs for repeated batch
 * sizes), and tracks the device's health and saturation ({@link io.weir.runtime.cuda.CudaHealth}).
 * {@link io.weir.runtime.cuda.GpuCheck} is the GPU-machine acceptance check.
 *
 * <p>Owns: everything GPU-specific between a {@link io.weir.runtime.ModelArtifact} and output
 * {@link io.weir.runtime.Tensor}s. Must not touch: the runtime core API (Backend, LoadedModel,
 * Tensor, the registry), batching, routing or the CPU backend; raw driver calls (those go through
 * {@code io.weir.nativebindings}). Refusing a model is always a {@link io.weir.runtime.ModelLoadException},
 * never a crash: the CPU must keep serving.
 */
package io.weir.runtime.cuda;
