package io.weir.gateway.grpc;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.server.GrpcServer;
import io.weir.batcher.InferenceRequest;
import io.weir.batcher.Priority;
import io.weir.gateway.ModelService;
import io.weir.gateway.RequestIds;
import io.weir.gateway.grpc.proto.inference.GRPCInferenceServiceGrpcService;
import io.weir.gateway.grpc.proto.inference.InferParameter;
import io.weir.gateway.grpc.proto.inference.ModelInferRequest;
import io.weir.gateway.grpc.proto.inference.ModelInferResponse;
import io.weir.gateway.grpc.proto.inference.ModelMetadataRequest;
import io.weir.gateway.grpc.proto.inference.ModelMetadataResponse;
import io.weir.gateway.grpc.proto.inference.ModelReadyRequest;
import io.weir.gateway.grpc.proto.inference.ModelReadyResponse;
import io.weir.gateway.grpc.proto.inference.ServerLiveResponse;
import io.weir.gateway.grpc.proto.inference.ServerMetadataResponse;
import io.weir.gateway.grpc.proto.inference.ServerReadyResponse;
import io.weir.gateway.http.Routing;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelHandle;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.WeirException;

import java.util.List;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * {@code inference.GRPCInferenceService}, the KServe v2 protocol over gRPC, answering exactly as the REST API does:
 * ModelInfer resolves the version through {@link Routing} (or the explicit {@code model_version}), validates the
 * tensors against the model's declared inputs and submits through {@link ModelService#infer} with the client's
 * {@code grpc-timeout} as its timeout, so the dispatcher's deadline is the earlier of that and the model's budget.
 * Stateless; one instance serves every event loop.
 */
final class InferenceEndpoint {
    static final String SERVER_NAME = "weir";
    static final String SERVER_VERSION = "0.1.0";
    static final String PRIORITY_HEADER = "x-weir-priority";
    static final String REQUEST_ID_HEADER = "x-request-id";
    /** Request parameter naming the sticky key for canary assignment, as {@code user_id} on the native API. */
    static final String USER_ID_PARAMETER = "user_id";

    private final ModelService models;
    private final Routing routing;
    private final BooleanSupplier ready;
    private final GrpcMetrics metrics;

    InferenceEndpoint(ModelService models, Routing routing, BooleanSupplier ready, GrpcMetrics metrics) {
        this.models = models;
        this.routing = routing;
        this.ready = ready;
        this.metrics = metrics;
    }

    void bind(Vertx vertx, GrpcServer server) {
        server.callHandler(GRPCInferenceServiceGrpcService.ServerLive, call -> UnaryCall.serve(vertx, call, metrics,
                (req, c) -> Future.succeededFuture(ServerLiveResponse.newBuilder().setLive(true).build())));
        server.callHandler(GRPCInferenceServiceGrpcService.ServerReady, call -> UnaryCall.serve(vertx, call, metrics,
                (req, c) -> Future.succeededFuture(ServerReadyResponse.newBuilder().setReady(ready.getAsBoolean()).build())));
        server.callHandler(GRPCInferenceServiceGrpcService.ServerMetadata, call -> UnaryCall.serve(vertx, call, metrics,
                (req, c) -> Future.succeededFuture(ServerMetadataResponse.newBuilder().setName(SERVER_NAME)
                        .setVersion(SERVER_VERSION).addExtensions("model_repository").build())));
        server.callHandler(GRPCInferenceServiceGrpcService.ModelReady, call -> UnaryCall.serve(vertx, call, metrics,
                (req, c) -> Future.succeededFuture(modelReady(req))));
        server.callHandler(GRPCInferenceServiceGrpcService.ModelMetadata, call -> UnaryCall.serve(vertx, call, metrics,
                (req, c) -> Future.succeededFuture(modelMetadata(req))));
        server.callHandler(GRPCInferenceServiceGrpcService.ModelInfer, call -> UnaryCall.serve(vertx, call, metrics, this::infer));
    }

    private ModelReadyResponse modelReady(ModelReadyRequest req) {
        String model = required(req.getName(), "name");
        if (!models.registry().knows(model)) {
            throw WeirException.notFound("unknown model '" + model + "'");
        }
        boolean isReady;
        if (req.getVersion().isEmpty()) {
            isReady = models.registry().latestReady(model).isPresent();
        } else {
            ModelRegistry.Status s = models.registry().status(new ModelKey(model, req.getVersion()))
                    .orElseThrow(() -> WeirException.notFound("model '" + model + "' has no version " + req.getVersion()));
            isReady = s.state() == ModelRegistry.State.READY;
        }
        return ModelReadyResponse.newBuilder().setReady(isReady).build();
    }

    private ModelMetadataResponse modelMetadata(ModelMetadataRequest req) {
        ModelKey key = models.resolve(required(req.getName(), "name"), emptyToNull(req.getVersion()));
        ModelHandle h = models.registry().peek(key).orElseThrow(() -> WeirException.unavailable(key + " is not loaded"));
        ModelConfig c = h.config();
        ModelMetadataResponse.Builder b = ModelMetadataResponse.newBuilder()
                .setName(key.model())
                .addAllVersions(models.registry().readyVersions(key.model()))
                .setPlatform("onnxruntime_onnx");
        for (TensorSpec s : c.inputs()) {
            b.addInputs(metadata(s));
        }
        for (TensorSpec s : c.outputs()) {
            b.addOutputs(metadata(s));
        }
        return b.build();
    }

    private static ModelMetadataResponse.TensorMetadata metadata(TensorSpec s) {
        ModelMetadataResponse.TensorMetadata.Builder t = ModelMetadataResponse.TensorMetadata.newBuilder()
                .setName(s.name()).setDatatype(s.dataType().name());
        for (long d : s.shape()) {
            t.addShape(d);
        }
        return t.build();
    }

    private Future<ModelInferResponse> infer(ModelInferRequest req, UnaryCall<ModelInferRequest, ModelInferResponse> call) {
        String model = required(req.getModelName(), "model_name");
        // Echoed as the x-request-id header: an id that breaks the header's rule counts as absent, as on HTTP.
        String requestId = RequestIds.fit(req.getId());
        if (requestId == null) {
            requestId = RequestIds.fitOrNext(call.headers().get(REQUEST_ID_HEADER));
        }
        InferParameter user = req.getParametersMap().get(USER_ID_PARAMETER);
        String userId = user != null && user.hasStringParam() ? user.getStringParam() : null;
        Routing.Selection sel = routing.select(model, emptyToNull(req.getModelVersion()), userId, requestId, call.headers()::get);
        ModelKey key = sel.key();
        ModelConfig config = models.config(key);
        Map<String, Tensor> inputs = GrpcTensors.inputs(req, config);
        List<String> wanted = GrpcTensors.requestedOutputs(req, config);
        int rows = inputs.values().iterator().next().rows();
        Priority priority;
        try {
            priority = Priority.parse(call.headers().get(PRIORITY_HEADER));
        } catch (IllegalArgumentException e) {
            throw WeirException.invalid(PRIORITY_HEADER + ": " + e.getMessage());
        }
        boolean raw = req.getRawInputContentsCount() > 0;
        call.responseHeaders().set(REQUEST_ID_HEADER, requestId).set("x-weir-variant", sel.arm());
        InferenceRequest request = models.request(key, inputs, rows, call.remainingMillisOrZero(), priority);
        long start = System.nanoTime();
        return models.submit(call.context(), request).andThen(ar -> {
            long latency = System.nanoTime() - start;
            // After the answer has gone out (UnaryCall sends it in this same turn), as REST does.
            call.context().runOnContext(v -> {
                if (ar.succeeded()) {
                    routing.completed(sel, request, ar.result(), latency);
                } else {
                    routing.failed(sel, ar.cause(), latency);
                }
            });
        }).map(result -> {
            call.responseHeaders().set("x-weir-backend", result.backend());
            ModelInferResponse.Builder resp = ModelInferResponse.newBuilder()
                    .setModelName(key.model()).setModelVersion(key.version()).setId(req.getId())
                    .putParameters("arm", InferParameter.newBuilder().setStringParam(sel.arm()).build())
                    .putParameters("backend", InferParameter.newBuilder().setStringParam(result.backend()).build());
            for (String name : wanted) {
                GrpcTensors.addOutput(resp, name, result.outputs().get(name), raw);
            }
            return resp.build();
        });
    }

    private static String required(String value, String field) {
        if (value.isEmpty()) {
            throw WeirException.invalid(field + " is required");
        }
        return value;
    }

    private static String emptyToNull(String s) {
        return s.isEmpty() ? null : s;
    }
}
