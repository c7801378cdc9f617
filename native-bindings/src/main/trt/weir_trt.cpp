// weir_trt shim implementation against TensorRT 10 (NvInfer.h, NvOnnxParser.h). See weir_trt.h.
// UNVERIFIED DESIGN: compiled only by the "tensorrt" Maven profile where NvInfer.h exists; see docs/GPU.md.

#include "weir_trt.h"

#include <NvInfer.h>
#include <NvOnnxParser.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

namespace {

// TensorRT reports through a logger; keep the last error-level message for the caller's err buffer.
class Logger : public nvinfer1::ILogger {
public:
    void log(Severity severity, const char* msg) noexcept override {
        if (severity <= Severity::kERROR) {
            std::lock_guard<std::mutex> lock(mutex_);
            last_ = msg;
        }
    }
    std::string last() {
        std::lock_guard<std::mutex> lock(mutex_);
        return last_;
    }
private:
    std::mutex mutex_;
    std::string last_;
};

Logger& logger() {
    static Logger instance;
    return instance;
}

void write_err(char* err, size_t len, const std::string& msg) {
    if (err != nullptr && len > 0) {
        std::snprintf(err, len, "%s", msg.c_str());
    }
}

}  // namespace

struct weir_trt_engine {
    std::unique_ptr<nvinfer1::IRuntime> runtime;
    std::unique_ptr<nvinfer1::ICudaEngine> engine;
};

struct weir_trt_context {
    weir_trt_engine* owner;
    std::unique_ptr<nvinfer1::IExecutionContext> context;
};

extern "C" int32_t weir_trt_version(void) {
    return getInferLibVersion();
}

extern "C" int32_t weir_trt_build_from_onnx(const void* onnx, size_t onnx_len, int32_t fp16, uint64_t workspace_bytes,
                                            int32_t min_batch, int32_t opt_batch, int32_t max_batch,
                                            weir_trt_engine** engine_out, char* err, size_t err_len) {
    if (onnx == nullptr || onnx_len == 0 || engine_out == nullptr || min_batch < 1 || opt_batch < min_batch
        || max_batch < opt_batch) {
        write_err(err, err_len, "invalid arguments");
        return WEIR_TRT_E_ARGUMENT;
    }
    try {
        std::unique_ptr<nvinfer1::IBuilder> builder(nvinfer1::createInferBuilder(logger()));
        std::unique_ptr<nvinfer1::INetworkDefinition> network(builder->createNetworkV2(0));  // explicit batch (TRT 10 default)
        std::unique_ptr<nvonnxparser::IParser> parser(nvonnxparser::createParser(*network, logger()));
        if (!parser->parse(onnx, onnx_len)) {
            std::string msg = "ONNX parse failed";
            for (int32_t i = 0; i < parser->getNbErrors(); i++) {
                msg += "; ";
                msg += parser->getError(i)->desc();
            }
            write_err(err, err_len, msg);
            return WEIR_TRT_E_PARSE;
        }
        std::unique_ptr<nvinfer1::IBuilderConfig> config(builder->createBuilderConfig());
        config->setMemoryPoolLimit(nvinfer1::MemoryPoolType::kWORKSPACE, workspace_bytes);
        if (fp16 != 0) {
            config->setFlag(nvinfer1::BuilderFlag::kFP16);
        }
        nvinfer1::IOptimizationProfile* profile = builder->createOptimizationProfile();
        for (int32_t i = 0; i < network->getNbInputs(); i++) {
            nvinfer1::ITensor* in = network->getInput(i);
            nvinfer1::Dims d = in->getDimensions();
            nvinfer1::Dims lo = d, opt = d, hi = d;
            lo.d[0] = min_batch;
            opt.d[0] = opt_batch;
            hi.d[0] = max_batch;
            profile->setDimensions(in->getName(), nvinfer1::OptProfileSelector::kMIN, lo);
            profile->setDimensions(in->getName(), nvinfer1::OptProfileSelector::kOPT, opt);
            profile->setDimensions(in->getName(), nvinfer1::OptProfileSelector::kMAX, hi);
        }
        config->addOptimizationProfile(profile);
        std::unique_ptr<nvinfer1::IHostMemory> plan(builder->buildSerializedNetwork(*network, *config));
        if (!plan) {
            write_err(err, err_len, "engine build failed: " + logger().last());
            return WEIR_TRT_E_BUILD;
        }
        auto* e = new weir_trt_engine();
        e->runtime.reset(nvinfer1::createInferRuntime(logger()));
        e->engine.reset(e->runtime->deserializeCudaEngine(plan->data(), plan->size()));
        if (!e->engine) {
            delete e;
            write_err(err, err_len, "engine deserialisation failed: " + logger().last());
            return WEIR_TRT_E_RUNTIME;
        }
        *engine_out = e;
        return WEIR_TRT_OK;
    } catch (const std::exception& ex) {
        write_err(err, err_len, std::string("exception: ") + ex.what());
        return WEIR_TRT_E_BUILD;
    }
}

extern "C" void weir_trt_engine_destroy(weir_trt_engine* engine) {
    delete engine;  // members die in reverse declaration order: the engine before the runtime that made it
}

extern "C" int32_t weir_trt_io_count(const weir_trt_engine* engine) {
    return engine->engine->getNbIOTensors();
}

extern "C" const char* weir_trt_io_name(const weir_trt_engine* engine, int32_t index) {
    return engine->engine->getIOTensorName(index);
}

extern "C" int32_t weir_trt_io_is_input(const weir_trt_engine* engine, int32_t index) {
    const char* name = engine->engine->getIOTensorName(index);
    return engine->engine->getTensorIOMode(name) == nvinfer1::TensorIOMode::kINPUT ? 1 : 0;
}

extern "C" int32_t weir_trt_context_create(weir_trt_engine* engine, weir_trt_context** context_out, char* err,
                                           size_t err_len) {
    nvinfer1::IExecutionContext* c = engine->engine->createExecutionContext();
    if (c == nullptr) {
        write_err(err, err_len, "createExecutionContext failed: " + logger().last());
        return WEIR_TRT_E_RUNTIME;
    }
    *context_out = new weir_trt_context{engine, std::unique_ptr<nvinfer1::IExecutionContext>(c)};
    return WEIR_TRT_OK;
}

extern "C" void weir_trt_context_destroy(weir_trt_context* context) {
    delete context;
}

extern "C" int32_t weir_trt_set_input_batch(weir_trt_context* context, const char* name, int64_t batch) {
    nvinfer1::Dims d = context->owner->engine->getTensorShape(name);
    if (d.nbDims < 1) {
        return WEIR_TRT_E_UNKNOWN_TENSOR;
    }
    d.d[0] = batch;
    return context->context->setInputShape(name, d) ? WEIR_TRT_OK : WEIR_TRT_E_ARGUMENT;
}

extern "C" int32_t weir_trt_set_tensor_address(weir_trt_context* context, const char* name, uint64_t device_ptr) {
    return context->context->setTensorAddress(name, reinterpret_cast<void*>(device_ptr)) ? WEIR_TRT_OK
                                                                                         : WEIR_TRT_E_UNKNOWN_TENSOR;
}

extern "C" int32_t weir_trt_enqueue(weir_trt_context* context, void* stream, char* err, size_t err_len) {
    if (!context->context->enqueueV3(static_cast<cudaStream_t>(stream))) {
        write_err(err, err_len, "enqueueV3 failed: " + logger().last());
        return WEIR_TRT_E_ENQUEUE;
    }
    return WEIR_TRT_OK;
}
