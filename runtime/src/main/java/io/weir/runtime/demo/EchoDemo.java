package io.weir.runtime.demo;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.onnx.OnnxGraphBuilder;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The {@code echo} demo: three Identity nodes ({@code x} FP32 [batch, 16], {@code ids} INT64 [batch, 4],
 * {@code text} BYTES [batch, 1] to {@code x_out}, {@code ids_out}, {@code text_out}). It does no work, so a request's
 * latency through the gateway minus the model's is the gateway's own overhead; its golden set carries edge values
 * (negative zero, subnormal and huge floats, extreme int64s, multi-byte and empty strings) that a codec must pass
 * through unchanged.
 */
final class EchoDemo {
    static final String NAME = "echo";
    static final String VERSION = "1.0.0";
    static final long GOLDEN_SEED = 0x60_1DE0_0020L;

    private static final String[] TEXTS = {"hello", "", "naïve café", "日本語のテキスト", "emoji 🚀 rocket",
            "tab\tand\nnewline", "quote \" and backslash \\", "Ünïcödé ✓", "a", "Weir serves models"};
    private static final float[] EDGE_FLOATS = {0f, -0f, 1f, -1f, Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE,
            -Float.MAX_VALUE, 1e-7f, 123456.79f};
    private static final long[] EDGE_LONGS = {0L, -1L, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 53, (1L << 53) + 1};

    /** A v2 request and the tensors it decodes to. */
    record Sample(JsonObject request, Map<String, Tensor> inputs, int rows) {
    }

    JsonObject config() {
        return new JsonObject()
                .put("name", NAME)
                .put("description", "Identity model for measuring the gateway's own overhead; written by "
                        + "io.weir.runtime.demo.DemoRepositoryWriter.")
                .put("inputs", new JsonArray()
                        .add(spec("x", "FP32", 16)).add(spec("ids", "INT64", 4)).add(spec("text", "BYTES", 1)))
                .put("outputs", new JsonArray()
                        .add(spec("x_out", "FP32", 16)).add(spec("ids_out", "INT64", 4)).add(spec("text_out", "BYTES", 1)))
                .put("max_batch_rows", 1024)
                .put("oversize", "split")
                .put("latency_budget_ms", 50)
                .put("batching", new JsonObject().put("policy", "adaptive"))
                .put("acceptance", new JsonObject().put("min_auc", 0.0).put("max_abs_score_diff", 0.0));
    }

    private static JsonObject spec(String name, String type, int width) {
        return new JsonObject().put("name", name).put("datatype", type).put("shape", new JsonArray().add(-1).add(width));
    }

    byte[] onnx(ModelConfig config) {
        OnnxGraphBuilder g = new OnnxGraphBuilder(NAME).producer("weir-demo", "1")
                .docString("Identity of every input, for measuring the gateway's overhead.")
                .metadata("weir.model", NAME).metadata("weir.version", VERSION);
        for (TensorSpec in : config.inputs()) {
            g.input(in);
        }
        for (TensorSpec out : config.outputs()) {
            g.output(out);
        }
        for (TensorSpec in : config.inputs()) {
            g.identity(in.name(), in.name() + "_out");
        }
        return g.toBytes();
    }

    Sample sample(DemoRandom rng, String requestId) {
        int rows = 1 + (int) (3 * StrictMath.pow(rng.nextDouble(), 2));
        float[] x = new float[rows * 16];
        for (int i = 0; i < x.length; i++) {
            x[i] = rng.bernoulli(0.02) ? EDGE_FLOATS[rng.nextInt(EDGE_FLOATS.length)]
                    : (float) (rng.nextInt(-10_000, 10_000) / 100.0);
        }
        long[] ids = new long[rows * 4];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rng.bernoulli(0.02) ? EDGE_LONGS[rng.nextInt(EDGE_LONGS.length)] : rng.nextInt(-1_000_000, 1_000_000);
        }
        byte[][] text = new byte[rows][];
        for (int i = 0; i < rows; i++) {
            text[i] = (rng.bernoulli(0.7) ? TEXTS[rng.nextInt(TEXTS.length)] : "row-" + rng.nextInt(1_000_000))
                    .getBytes(StandardCharsets.UTF_8);
        }
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        inputs.put("x", Tensor.ofFloats(new long[] {rows, 16}, x));
        inputs.put("ids", Tensor.ofLongs(new long[] {rows, 4}, ids));
        inputs.put("text", Tensor.ofBytes(new long[] {rows, 1}, text));
        JsonArray json = new JsonArray();
        inputs.forEach((name, t) -> json.add(V2Tensors.toJson(name, t)));
        return new Sample(new JsonObject().put("id", requestId).put("inputs", json), inputs, rows);
    }

    /** The {@code expected} object of a golden line: every output, in the config's order. */
    static JsonObject expected(ModelConfig config, Map<String, Tensor> outputs) {
        JsonArray json = new JsonArray();
        for (TensorSpec spec : config.outputs()) {
            json.add(V2Tensors.toJson(spec.name(), outputs.get(spec.name())));
        }
        return new JsonObject().put("outputs", json);
    }
}
