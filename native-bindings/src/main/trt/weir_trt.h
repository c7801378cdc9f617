/*
 * weir_trt: a small extern "C" shim over TensorRT 10's C++ API, so that Java can drive TensorRT through
 * the FFM API (io.weir.nativebindings.TensorRt) without C++ name mangling or vtables.
 *
 * UNVERIFIED DESIGN: built only where NvInfer.h is installed (Maven profile "tensorrt" in
 * native-bindings/pom.xml); neither compiled nor run on Weir's build machines. See docs/GPU.md.
 *
 * Conventions: every function returns 0 on success or a negative WEIR_TRT_E_* code; functions that can
 * fail for a reason worth reading take (char* err, size_t err_len) and write a NUL-terminated message.
 * Handles are opaque. Threading: an engine may be shared; a context belongs to one thread at a time.
 */
#ifndef WEIR_TRT_H
#define WEIR_TRT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WEIR_TRT_OK 0
#define WEIR_TRT_E_ARGUMENT (-1)
#define WEIR_TRT_E_PARSE (-2)
#define WEIR_TRT_E_BUILD (-3)
#define WEIR_TRT_E_RUNTIME (-4)
#define WEIR_TRT_E_UNKNOWN_TENSOR (-5)
#define WEIR_TRT_E_ENQUEUE (-6)

typedef struct weir_trt_engine weir_trt_engine;
typedef struct weir_trt_context weir_trt_context;

/* TensorRT's version as major*10000 + minor*100 + patch (getInferLibVersion()). */
int32_t weir_trt_version(void);

/*
 * Parses an ONNX model and builds an engine whose inputs all have a dynamic first (batch) dimension,
 * optimised for [min_batch, max_batch] with opt_batch as the tuning point. fp16 != 0 allows FP16 kernels.
 */
int32_t weir_trt_build_from_onnx(const void* onnx, size_t onnx_len, int32_t fp16, uint64_t workspace_bytes,
                                 int32_t min_batch, int32_t opt_batch, int32_t max_batch,
                                 weir_trt_engine** engine_out, char* err, size_t err_len);

void weir_trt_engine_destroy(weir_trt_engine* engine);

/* Number of I/O tensors and the name (valid while the engine lives) and direction (1 input, 0 output) of one. */
int32_t weir_trt_io_count(const weir_trt_engine* engine);
const char* weir_trt_io_name(const weir_trt_engine* engine, int32_t index);
int32_t weir_trt_io_is_input(const weir_trt_engine* engine, int32_t index);

int32_t weir_trt_context_create(weir_trt_engine* engine, weir_trt_context** context_out, char* err, size_t err_len);
void weir_trt_context_destroy(weir_trt_context* context);

/* Sets the batch size of an input: its shape becomes [batch, <the model's fixed dims>]. */
int32_t weir_trt_set_input_batch(weir_trt_context* context, const char* name, int64_t batch);

/* Binds a tensor to device memory (a CUdeviceptr). */
int32_t weir_trt_set_tensor_address(weir_trt_context* context, const char* name, uint64_t device_ptr);

/* Enqueues inference on a CUDA stream (a CUstream / cudaStream_t). */
int32_t weir_trt_enqueue(weir_trt_context* context, void* stream, char* err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif /* WEIR_TRT_H */
