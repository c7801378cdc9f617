package io.weir.batcher.testing;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.InferenceRequest;
import io.weir.batcher.Priority;
import io.weir.runtime.Backend;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Tensor;
import io.weir.runtime.repository.Checksums;
import io.weir.runtime.repository.ModelRepository;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A real model repository on disk for the batcher's tests: {@code config.json} declaring {@code x} and {@code offset}
 * in, {@code y} out (all FP32 {@code [-1, 1]}), a placeholder {@code model.onnx} (the {@link AffineBackend} computes
 * instead of parsing it) and {@code SHA256SUMS}, loaded through a real {@link ModelRegistry}.
 */
public final class TestModels {
    private TestModels() {
    }

    public static JsonObject config(String name, int maxBatchRows, double budgetMs, JsonObject batching) {
        JsonArray scalar = new JsonArray().add(-1).add(1);
        return new JsonObject().put("name", name)
                .put("inputs", new JsonArray()
                        .add(new JsonObject().put("name", "x").put("datatype", "FP32").put("shape", scalar))
                        .add(new JsonObject().put("name", "offset").put("datatype", "FP32").put("shape", scalar)))
                .put("outputs", new JsonArray()
                        .add(new JsonObject().put("name", "y").put("datatype", "FP32").put("shape", scalar)))
                .put("max_batch_rows", maxBatchRows).put("latency_budget_ms", budgetMs).put("batching", batching);
    }

    public static void write(Path root, JsonObject config, String version) throws IOException {
        Path model = root.resolve(config.getString("name"));
        Path dir = model.resolve(version);
        Files.createDirectories(dir);
        Files.writeString(model.resolve("config.json"), config.encodePrettily(), StandardCharsets.UTF_8);
        Files.write(dir.resolve("model.onnx"), ("affine test model " + config.getString("name")).getBytes(StandardCharsets.UTF_8));
        Checksums.writeSums(dir, List.of("model.onnx"));
    }

    /** A registry over {@code root} with every model loaded on {@code backends} (most preferred first). */
    public static ModelRegistry registry(Path root, List<Backend> backends) {
        ModelRegistry registry = new ModelRegistry(ModelRepository.open(root), backends);
        registry.loadAll();
        return registry;
    }

    /** A request whose row i has x = base + i and offset = id (so each request's answer is its own). */
    public static InferenceRequest request(ModelKey key, int id, int rows, long enqueue, long deadline, Priority priority) {
        float[] x = new float[rows];
        float[] offset = new float[rows];
        for (int i = 0; i < rows; i++) {
            x[i] = i + 0.5f;
            offset[i] = id;
        }
        return new InferenceRequest(key, Map.of("x", Tensor.ofFloats(new long[] {rows, 1}, x),
                "offset", Tensor.ofFloats(new long[] {rows, 1}, offset)), rows, enqueue, deadline, priority);
    }

    /** The answer {@link #request} must get. */
    public static float[] expected(int id, int rows) {
        float[] y = new float[rows];
        for (int i = 0; i < rows; i++) {
            y[i] = 2 * (i + 0.5f) + id;
        }
        return y;
    }
}
