package io.weir.gateway.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.batcher.InferenceRequest;
import io.weir.gateway.InputShapes;
import io.weir.gateway.ModelService;
import io.weir.runtime.DataType;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelHandle;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.WeirException;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * KServe v2 Open Inference Protocol over REST (JSON tensor format; FP32, INT64 and BYTES), so stock KServe and
 * Triton clients work. Tensors map one-to-one to the model's declared inputs and outputs.
 */
final class V2Api {
    static final String SERVER_NAME = "weir";
    static final String SERVER_VERSION = "0.1.0";

    private final ModelService models;
    private final Routing routing;

    V2Api(ModelService models, Routing routing) {
        this.models = models;
        this.routing = routing;
    }

    void serverMetadata(RoutingContext ctx) {
        Bodies.sendJson(ctx, 200, new JsonObject().put("name", SERVER_NAME).put("version", SERVER_VERSION)
                .put("extensions", new JsonArray().add("model_repository")), null, null);
    }

    void live(RoutingContext ctx) {
        Bodies.sendJson(ctx, 200, new JsonObject().put("live", true), null, null);
    }

    void ready(RoutingContext ctx) {
        boolean ready = models.ready();
        Bodies.sendJson(ctx, ready ? 200 : 503, new JsonObject().put("ready", ready), null, null);
    }

    void modelMetadata(RoutingContext ctx) {
        ModelKey key = resolve(ctx);
        ModelHandle h = models.registry().peek(key).orElseThrow(() -> WeirException.unavailable(key + " is not loaded"));
        ModelConfig c = h.config();
        JsonObject body = new JsonObject()
                .put("name", key.model())
                .put("versions", new JsonArray(models.registry().readyVersions(key.model())))
                .put("platform", "onnxruntime_onnx")
                .put("inputs", specs(c.inputs()))
                .put("outputs", specs(c.outputs()))
                .put("parameters", new JsonObject()
                        .put("served_version", key.version())
                        .put("sha256", h.artifact().sha256())
                        .put("backends", new JsonArray(h.backends()))
                        .put("max_batch_rows", c.maxBatchRows())
                        .put("latency_budget_ms", c.latencyBudgetMs()));
        Bodies.sendJson(ctx, 200, body, null, null);
    }

    void modelReady(RoutingContext ctx) {
        String model = ctx.pathParam("model");
        String version = ctx.pathParam("version");
        if (!models.registry().knows(model)) {
            throw WeirException.notFound("unknown model '" + model + "'");
        }
        boolean ready;
        if (version == null) {
            ready = models.registry().latestReady(model).isPresent();
        } else {
            ModelRegistry.Status s = models.registry().status(new ModelKey(model, version))
                    .orElseThrow(() -> WeirException.notFound("model '" + model + "' has no version " + version));
            ready = s.state() == ModelRegistry.State.READY;
        }
        JsonObject body = new JsonObject().put("name", model).put("ready", ready);
        if (version != null) {
            body.put("version", version);
        }
        Bodies.sendJson(ctx, ready ? 200 : 503, body, null, null);
    }

    private ModelKey resolve(RoutingContext ctx) {
        return models.resolve(ctx.pathParam("model"), ctx.pathParam("version"));
    }

    void infer(RoutingContext ctx) {
        JsonObject body = Bodies.object(ctx);
        Object id = body.getValue("id");
        if (id != null && !(id instanceof String)) {
            throw WeirException.invalid("id must be a string");
        }
        String requestId = RequestContext.requestId(ctx, id == null ? null : new JsonObject().put("request_id", id));
        String model = ctx.pathParam("model");
        Routing.Selection sel = routing.select(model, ctx.pathParam("version"), null, requestId, ctx.request()::getHeader);
        ModelKey key = sel.key();
        ctx.put(RequestContext.MODEL, key.model());
        ctx.put(RequestContext.VERSION, key.version());
        ctx.put(RequestContext.ARM, sel.arm());
        ModelConfig config = models.config(key);
        Map<String, Tensor> inputs = parseInputs(body, config);
        int rows = inputs.values().iterator().next().rows();
        List<String> wanted = requestedOutputs(body, config);
        InferenceRequest request = models.request(key, inputs, rows, Bodies.timeoutMillis(ctx, null),
                RequestContext.unseenNanos(ctx), Bodies.priority(ctx));
        models.submit(ctx.vertx().getOrCreateContext(), request)
                .onSuccess(result -> {
                    JsonArray outs = new JsonArray();
                    for (String name : wanted) {
                        Tensor t = result.outputs().get(name);
                        outs.add(new JsonObject().put("name", name).put("datatype", t.dataType().name())
                                .put("shape", shape(t.shape())).put("data", data(t)));
                    }
                    JsonObject resp = new JsonObject().put("model_name", key.model()).put("model_version", key.version());
                    if (id != null) {
                        resp.put("id", id);
                    }
                    resp.put("outputs", outs);
                    Bodies.sendJson(ctx, 200, resp, sel.arm(), result.backend());
                    routing.completed(sel, request, result, Bodies.elapsedNanos(ctx));
                })
                .onFailure(err -> {
                    HttpErrors.send(ctx, err, requestId);
                    routing.failed(sel, err, Bodies.elapsedNanos(ctx));
                });
    }

    private static List<String> requestedOutputs(JsonObject body, ModelConfig config) {
        Object o = body.getValue("outputs");
        if (o == null) {
            return config.outputs().stream().map(TensorSpec::name).toList();
        }
        if (!(o instanceof JsonArray arr)) {
            throw WeirException.invalid("outputs must be an array");
        }
        List<String> names = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            if (!(arr.getValue(i) instanceof JsonObject out) || !(out.getValue("name") instanceof String name)) {
                throw WeirException.invalid("outputs[" + i + "] must be an object with a name");
            }
            if (config.output(name).isEmpty()) {
                throw WeirException.invalid("unknown output '" + name + "'; the model has " + config.outputs().stream().map(TensorSpec::name).toList());
            }
            names.add(name);
        }
        return names;
    }

    static Map<String, Tensor> parseInputs(JsonObject body, ModelConfig config) {
        Object in = body.getValue("inputs");
        if (!(in instanceof JsonArray arr) || arr.isEmpty()) {
            throw WeirException.invalid("inputs must be a non-empty array");
        }
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        int rows = -1;
        for (int i = 0; i < arr.size(); i++) {
            if (!(arr.getValue(i) instanceof JsonObject t)) {
                throw WeirException.invalid("inputs[" + i + "] must be an object");
            }
            String name = t.getValue("name") instanceof String s ? s : null;
            if (name == null) {
                throw WeirException.invalid("inputs[" + i + "].name must be a string");
            }
            TensorSpec spec = config.input(name).orElseThrow(() -> WeirException.invalid("unknown input '" + name
                    + "'; the model takes " + config.inputs().stream().map(TensorSpec::name).toList()));
            if (tensors.containsKey(name)) {
                throw WeirException.invalid("input '" + name + "' given twice");
            }
            Object dt = t.getValue("datatype");
            DataType type = dt instanceof String s ? DataType.fromV2(s) : null;
            if (type != spec.dataType()) {
                throw WeirException.invalid("input '" + name + "' has datatype " + dt + "; the model expects " + spec.dataType());
            }
            long[] shape = parseShape(t.getValue("shape"), name);
            int count = InputShapes.check(name, shape, spec, rows, V2Api::shapeText);
            rows = (int) shape[0];
            List<Object> flat = new ArrayList<>(count);
            Object data = t.getValue("data");
            if (!(data instanceof JsonArray da)) {
                throw WeirException.invalid("input '" + name + "'.data must be an array (binary tensor data is not supported)");
            }
            flatten(da, flat, name, shape);
            if (flat.size() != count) {
                throw WeirException.invalid("input '" + name + "' has " + flat.size() + " values but shape " + shapeText(shape) + " needs " + count);
            }
            tensors.put(name, toTensor(name, type, shape, flat));
        }
        for (TensorSpec spec : config.inputs()) {
            if (!tensors.containsKey(spec.name())) {
                throw WeirException.invalid("missing input '" + spec.name() + "'");
            }
        }
        return tensors;
    }

    private static long[] parseShape(Object o, String name) {
        if (!(o instanceof JsonArray arr) || arr.isEmpty()) {
            throw WeirException.invalid("input '" + name + "'.shape must be a non-empty array of integers");
        }
        long[] s = new long[arr.size()];
        for (int i = 0; i < s.length; i++) {
            Object v = arr.getValue(i);
            // Integer or Long only (a BigInteger past 64 bits would wrap in longValue(): 2^64 + 2 read as 2).
            if (!(v instanceof Integer || v instanceof Long) || ((Number) v).longValue() < 0) {
                throw WeirException.invalid("input '" + name + "'.shape must hold non-negative 64-bit integers");
            }
            s[i] = ((Number) v).longValue();
        }
        return s;
    }

    /**
     * The data's values in row-major order. KServe v2 allows the data flat or nested; nested, it must follow the
     * shape exactly (every level as long as its dimension, values only at the last), or a ragged array with the
     * right count would be taken as some other arrangement of the values.
     */
    private static void flatten(JsonArray arr, List<Object> out, String name, long[] shape) {
        boolean nested = false;
        for (int i = 0; i < arr.size() && !nested; i++) {
            nested = arr.getValue(i) instanceof JsonArray;
        }
        if (!nested) {
            for (int i = 0; i < arr.size(); i++) {
                out.add(arr.getValue(i));
            }
            return;
        }
        flattenShaped(arr, out, name, shape, 0);
    }

    private static void flattenShaped(JsonArray arr, List<Object> out, String name, long[] shape, int depth) {
        boolean last = depth == shape.length - 1;
        boolean shaped = depth < shape.length && arr.size() == shape[depth];
        for (int i = 0; i < arr.size() && shaped; i++) {
            shaped = last != arr.getValue(i) instanceof JsonArray;
        }
        if (!shaped) {
            throw WeirException.invalid("input '" + name + "'.data is nested unlike its shape " + shapeText(shape)
                    + " (give it flat, or nested exactly as the shape)");
        }
        for (int i = 0; i < arr.size(); i++) {
            Object v = arr.getValue(i);
            if (last) {
                out.add(v);
            } else {
                flattenShaped((JsonArray) v, out, name, shape, depth + 1);
            }
        }
    }

    private static Tensor toTensor(String name, DataType type, long[] shape, List<Object> flat) {
        int n = flat.size();
        switch (type) {
            case FP32 -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    if (!(flat.get(i) instanceof Number num)) {
                        throw WeirException.invalid("input '" + name + "' must hold numbers (value " + i + " is " + describe(flat.get(i)) + ")");
                    }
                    float x = num.floatValue();
                    if (!Float.isFinite(x)) {
                        throw WeirException.invalid("input '" + name + "' value " + i + " is not a finite FP32 number");
                    }
                    f[i] = x;
                }
                return Tensor.ofFloats(shape, f);
            }
            case INT64 -> {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    Object v = flat.get(i);
                    if (!(v instanceof Integer || v instanceof Long || v instanceof java.math.BigInteger b && b.bitLength() < 64)) {
                        throw WeirException.invalid("input '" + name + "' must hold 64-bit integers (value " + i + " is " + describe(v) + ")");
                    }
                    l[i] = ((Number) v).longValue();
                }
                return Tensor.ofLongs(shape, l);
            }
            case BYTES -> {
                byte[][] b = new byte[n][];
                for (int i = 0; i < n; i++) {
                    if (!(flat.get(i) instanceof String s)) {
                        throw WeirException.invalid("input '" + name + "' must hold strings (value " + i + " is " + describe(flat.get(i)) + ")");
                    }
                    try {
                        // A strict encoder: String.getBytes would turn a lone surrogate into '?' without a word.
                        java.nio.ByteBuffer bb = StandardCharsets.UTF_8.newEncoder().encode(java.nio.CharBuffer.wrap(s));
                        b[i] = new byte[bb.remaining()];
                        bb.get(b[i]);
                    } catch (java.nio.charset.CharacterCodingException e) {
                        throw WeirException.invalid("input '" + name + "' value " + i + " is not valid Unicode (a lone surrogate)");
                    }
                }
                return Tensor.ofBytes(shape, b);
            }
            default -> throw new IllegalStateException();
        }
    }

    private static String describe(Object v) {
        return v == null ? "null" : v instanceof String ? "a string" : v instanceof Boolean ? "a boolean" : v.toString();
    }

    private static JsonArray specs(List<TensorSpec> specs) {
        JsonArray a = new JsonArray();
        for (TensorSpec s : specs) {
            a.add(new JsonObject().put("name", s.name()).put("datatype", s.dataType().name()).put("shape", shape(s.shape())));
        }
        return a;
    }

    private static JsonArray shape(long[] s) {
        JsonArray a = new JsonArray();
        for (long d : s) {
            a.add(d);
        }
        return a;
    }

    private static String shapeText(long[] s) {
        return shape(s).encode();
    }

    private static JsonArray data(Tensor t) {
        JsonArray a = new JsonArray();
        switch (t.dataType()) {
            case FP32 -> {
                for (float f : t.floats()) {
                    a.add(Bodies.fp32(f));
                }
            }
            case INT64 -> {
                for (long l : t.longs()) {
                    a.add(l);
                }
            }
            case BYTES -> {
                for (byte[] b : t.bytes()) {
                    a.add(utf8OrBase64(b));
                }
            }
        }
        return a;
    }

    private static String utf8OrBase64(byte[] b) {
        var decoder = StandardCharsets.UTF_8.newDecoder();
        try {
            return decoder.decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            return Base64.getEncoder().encodeToString(b);
        }
    }
}
