/**
 * ONNX: the CPU backend on ONNX Runtime ({@link io.weir.runtime.onnx.OnnxRuntimeBackend}), which also checks an
 * artifact against its declared schema, and the graph builder that writes ONNX files with the project's own protobuf
 * subset. Must not hold GPU code (that is {@code io.weir.runtime.cuda}).
 */
package io.weir.runtime.onnx;
