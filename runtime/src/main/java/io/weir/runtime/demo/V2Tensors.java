package io.weir.runtime.demo;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.DataType;
import io.weir.runtime.Tensor;

import java.nio.charset.StandardCharsets;

/**
 * KServe v2 JSON tensors ({@code {"name", "datatype", "shape", "data"}} with row-major flat data; BYTES as UTF-8
 * strings) for the echo golden set. Only what the golden files need: the gateway has its own codec.
 */
final class V2Tensors {
    private V2Tensors() {
    }

    static JsonObject toJson(String name, Tensor t) {
        JsonArray shape = new JsonArray();
        for (long d : t.shape()) {
            shape.add(d);
        }
        JsonArray data = new JsonArray();
        switch (t.dataType()) {
            case FP32 -> {
                for (float f : t.floats()) {
                    data.add(f);
                }
            }
            case INT64 -> {
                for (long l : t.longs()) {
                    data.add(l);
                }
            }
            case BYTES -> {
                for (byte[] b : t.bytes()) {
                    data.add(new String(b, StandardCharsets.UTF_8));
                }
            }
        }
        return new JsonObject().put("name", name).put("datatype", t.dataType().name()).put("shape", shape).put("data", data);
    }

    /** Reads a tensor written by {@link #toJson}; throws IllegalArgumentException when it is malformed. */
    static Tensor fromJson(JsonObject json) {
        DataType type = DataType.fromV2(json.getString("datatype"));
        if (type == null) {
            throw new IllegalArgumentException("tensor '" + json.getString("name") + "' has unsupported datatype " + json.getString("datatype"));
        }
        JsonArray shapeJson = json.getJsonArray("shape");
        long[] shape = new long[shapeJson.size()];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = shapeJson.getLong(i);
        }
        JsonArray data = json.getJsonArray("data");
        int n = data.size();
        return switch (type) {
            case FP32 -> {
                float[] f = new float[n];
                for (int i = 0; i < n; i++) {
                    f[i] = data.getNumber(i).floatValue();
                }
                yield Tensor.ofFloats(shape, f);
            }
            case INT64 -> {
                long[] l = new long[n];
                for (int i = 0; i < n; i++) {
                    l[i] = data.getLong(i);
                }
                yield Tensor.ofLongs(shape, l);
            }
            case BYTES -> {
                byte[][] b = new byte[n][];
                for (int i = 0; i < n; i++) {
                    b[i] = data.getString(i).getBytes(StandardCharsets.UTF_8);
                }
                yield Tensor.ofBytes(shape, b);
            }
        };
    }
}
