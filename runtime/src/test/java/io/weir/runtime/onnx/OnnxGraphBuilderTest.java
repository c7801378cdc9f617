package io.weir.runtime.onnx;

import io.vertx.core.json.JsonObject;
import io.weir.runtime.DataType;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.onnx.proto.Onnx;
import io.weir.runtime.repository.Checksums;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class OnnxGraphBuilderTest {
    private static OnnxRuntimeBackend ort;

    // y = sigmoid(tanh(relu(x·W1 + b1)·W2 + b2)), with x [batch, 3], W1 [3, 2], W2 [2, 1]
    private static final float[] W1 = {0.5f, -1.0f, 0.25f, 2.0f, -0.75f, 0.125f};
    private static final float[] B1 = {0.1f, -0.2f};
    private static final float[] W2 = {1.5f, -0.5f};
    private static final float[] B2 = {0.05f};

    @BeforeAll
    static void startOrt() {
        ort = new OnnxRuntimeBackend(1);
    }

    @AfterAll
    static void stopOrt() {
        ort.close();
    }

    private static OnnxGraphBuilder mlpGraph() {
        return new OnnxGraphBuilder("mlp")
                .metadata("purpose", "test")
                .input(new TensorSpec("x", DataType.FP32, new long[] {-1, 3}))
                .output(new TensorSpec("y", DataType.FP32, new long[] {-1, 1}))
                .output(new TensorSpec("x_copy", DataType.FP32, new long[] {-1, 3}))
                .initializer("w1", new long[] {3, 2}, W1)
                .initializer("b1", new long[] {2}, B1)
                .initializer("w2", new long[] {2, 1}, W2)
                .initializer("b2", new long[] {1}, B2)
                .gemm("x", "w1", "b1", "h_lin")
                .relu("h_lin", "h")
                .matMul("h", "w2", "z_mm")
                .add("z_mm", "b2", "z")
                .tanh("z", "t")
                .sigmoid("t", "y")
                .identity("x", "x_copy");
    }

    private static double expected(float[] x, int row) {
        double z = B2[0];
        for (int j = 0; j < 2; j++) {
            double h = B1[j];
            for (int i = 0; i < 3; i++) {
                h += x[row * 3 + i] * W1[i * 2 + j];
            }
            z += Math.max(0, h) * W2[j];
        }
        return 1 / (1 + Math.exp(-Math.tanh(z)));
    }

    private static LoadedModel load(String configJson, byte[] onnx) throws Exception {
        ModelConfig config = ModelConfig.parse(new JsonObject(configJson));
        return ort.load(new ModelArtifact(new ModelKey(config.name(), "1.0.0"), config, Path.of("."), onnx, Checksums.sha256(onnx)));
    }

    @Test
    void onnxRuntimeComputesTheGraphAtAnyBatchSize() throws Exception {
        byte[] onnx = mlpGraph().toBytes();
        try (LoadedModel m = load("""
                {"name": "mlp",
                 "inputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 3]}],
                 "outputs": [{"name": "y", "datatype": "FP32", "shape": [-1, 1]},
                             {"name": "x_copy", "datatype": "FP32", "shape": [-1, 3]}]}""", onnx)) {
            for (int rows : new int[] {1, 3}) {
                float[] x = new float[rows * 3];
                for (int i = 0; i < x.length; i++) {
                    x[i] = (i % 5 - 2) * 0.7f;
                }
                Map<String, Tensor> out = m.run(Map.of("x", Tensor.ofFloats(new long[] {rows, 3}, x)));
                assertThat(out.get("y").shape()).containsExactly(rows, 1);
                for (int r = 0; r < rows; r++) {
                    assertThat((double) out.get("y").floats()[r]).isCloseTo(expected(x, r), within(1e-6));
                }
                assertThat(out.get("x_copy").floats()).containsExactly(x);
            }
        }
    }

    @Test
    void writesIr8Opset17WithSymbolicBatchAndLittleEndianRawData() throws Exception {
        Onnx.ModelProto model = Onnx.ModelProto.parseFrom(mlpGraph().toBytes());
        assertThat(model.getIrVersion()).isEqualTo(8);
        assertThat(model.getOpsetImportList()).singleElement().satisfies(op -> {
            assertThat(op.getDomain()).isEmpty();
            assertThat(op.getVersion()).isEqualTo(17);
        });
        assertThat(model.getMetadataProps(0).getKey()).isEqualTo("purpose");
        Onnx.TensorShapeProto shape = model.getGraph().getInput(0).getType().getTensorType().getShape();
        assertThat(shape.getDim(0).getDimParam()).isEqualTo("batch");
        assertThat(shape.getDim(1).getDimValue()).isEqualTo(3);
        Onnx.TensorProto w1 = model.getGraph().getInitializer(0);
        assertThat(w1.getName()).isEqualTo("w1");
        assertThat(w1.getDimsList()).containsExactly(3L, 2L);
        assertThat(w1.getDataType()).isEqualTo(Onnx.TensorProto.DataType.FLOAT_VALUE);
        ByteBuffer raw = w1.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        for (float w : W1) {
            assertThat(raw.getFloat()).isEqualTo(w);
        }
        assertThat(model.getGraph().getNodeList()).extracting(Onnx.NodeProto::getOpType)
                .containsExactly("Gemm", "Relu", "MatMul", "Add", "Tanh", "Sigmoid", "Identity");
    }

    @Test
    void theSameCallsGiveTheSameBytes() {
        assertThat(mlpGraph().toBytes()).isEqualTo(mlpGraph().toBytes());
    }

    @Test
    void stringsAndInt64sPassThroughOnnxRuntime() throws Exception {
        byte[] onnx = new OnnxGraphBuilder("mixed")
                .input(new TensorSpec("text", DataType.BYTES, new long[] {-1, 1}))
                .input(new TensorSpec("ids", DataType.INT64, new long[] {-1, 2}))
                .output(new TensorSpec("text_out", DataType.BYTES, new long[] {-1, 1}))
                .output(new TensorSpec("ids_plus", DataType.INT64, new long[] {-1, 2}))
                .initializer("offset", new long[] {2}, new long[] {10, -(1L << 40)})
                .identity("text", "text_out")
                .add("ids", "offset", "ids_plus")
                .toBytes();
        try (LoadedModel m = load("""
                {"name": "mixed",
                 "inputs": [{"name": "text", "datatype": "BYTES", "shape": [-1, 1]},
                            {"name": "ids", "datatype": "INT64", "shape": [-1, 2]}],
                 "outputs": [{"name": "text_out", "datatype": "BYTES", "shape": [-1, 1]},
                             {"name": "ids_plus", "datatype": "INT64", "shape": [-1, 2]}]}""", onnx)) {
            byte[][] text = {"naïve 日本 🚀".getBytes(StandardCharsets.UTF_8), new byte[0]};
            Map<String, Tensor> out = m.run(Map.of(
                    "text", Tensor.ofBytes(new long[] {2, 1}, text),
                    "ids", Tensor.ofLongs(new long[] {2, 2}, new long[] {1, 2, Long.MAX_VALUE - 10, 0})));
            assertThat(out.get("text_out").bytes()).isDeepEqualTo(text);
            assertThat(out.get("ids_plus").longs()).containsExactly(11, 2 - (1L << 40), Long.MAX_VALUE, -(1L << 40));
        }
    }

    @Test
    void rejectsGraphsThatAreNotWellFormed() {
        TensorSpec x = new TensorSpec("x", DataType.FP32, new long[] {-1, 3});
        assertThatThrownBy(() -> new OnnxGraphBuilder("g").input(x).relu("nope", "y"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'nope'");
        assertThatThrownBy(() -> new OnnxGraphBuilder("g").input(x).relu("x", "x"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("already defined");
        assertThatThrownBy(() -> new OnnxGraphBuilder("g").initializer("w", new long[] {2, 2}, new float[3]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs 4 values");
        assertThatThrownBy(() -> new OnnxGraphBuilder("g").input(x)
                .output(new TensorSpec("y", DataType.FP32, new long[] {-1, 3})).relu("x", "z").build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("'y' is produced by no node");
        assertThatThrownBy(() -> new OnnxGraphBuilder("g").node("Relu", List.of("x"), List.of()))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
