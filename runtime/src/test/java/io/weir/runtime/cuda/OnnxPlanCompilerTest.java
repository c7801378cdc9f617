package io.weir.runtime.cuda;

import io.vertx.core.json.JsonObject;
import io.weir.runtime.DataType;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelLoadException;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.onnx.OnnxGraphBuilder;
import io.weir.runtime.onnx.OnnxRuntimeBackend;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

import static io.weir.runtime.onnx.OnnxGraphBuilder.Attribute.ofFloat;
import static io.weir.runtime.onnx.OnnxGraphBuilder.Attribute.ofInt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The ONNX -> plan compiler, checked without a GPU: every accepted graph is executed by
 * {@link PlanInterpreter} (the kernels' semantics on the CPU) and compared with ONNX Runtime on
 * the same model bytes; every unsupported construct is refused with a message that names it.
 */
class OnnxPlanCompilerTest {

    private static final ModelKey KEY = new ModelKey("m", "1.0.0");
    private static OnnxRuntimeBackend ort;

    @BeforeAll
    static void startOrt() {
        ort = new OnnxRuntimeBackend(1);
    }

    @AfterAll
    static void stopOrt() {
        ort.close();
    }

    static TensorSpec spec(String name, DataType t, long... dims) {
        long[] shape = new long[dims.length + 1];
        shape[0] = -1;
        System.arraycopy(dims, 0, shape, 1, dims.length);
        return new TensorSpec(name, t, shape);
    }

    static ModelConfig config(List<TensorSpec> in, List<TensorSpec> out) {
        return new ModelConfig("m", in, out, 64, ModelConfig.Oversize.SPLIT, 100, new JsonObject(), Optional.empty(),
                Optional.empty(), new ModelConfig.Acceptance(0, 1e-5));
    }

    static float[] random(Random r, int n, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (r.nextFloat() * 2 - 1) * scale;
        }
        return x;
    }

    /** Compiles, interprets and compares with ONNX Runtime at several batch sizes. */
    static ExecutionPlan checkAgainstOrt(ModelConfig config, byte[] onnx, long seed) throws Exception {
        ExecutionPlan plan = OnnxPlanCompiler.compile(KEY, config, onnx);
        Random r = new Random(seed);
        try (LoadedModel cpu = ort.load(new ModelArtifact(KEY, config, Path.of("."), onnx, "test"))) {
            for (int rows : new int[] {1, 3, 17}) {
                Map<String, Tensor> in = new LinkedHashMap<>();
                for (TensorSpec s : config.inputs()) {
                    long[] shape = s.shape();
                    shape[0] = rows;
                    int n = rows * s.rowWidth();
                    if (s.dataType() == DataType.FP32) {
                        in.put(s.name(), Tensor.ofFloats(shape, random(r, n, 2f)));
                    } else {
                        long[] ids = new long[n];
                        for (int i = 0; i < n; i++) {
                            ids[i] = r.nextInt(50) - (r.nextBoolean() ? 50 : 0); // negative ids count from the end
                        }
                        in.put(s.name(), Tensor.ofLongs(shape, ids));
                    }
                }
                Map<String, Tensor> want = cpu.run(in);
                Map<String, Tensor> got = PlanInterpreter.run(plan, in, rows);
                for (TensorSpec s : config.outputs()) {
                    float[] w = want.get(s.name()).floats();
                    float[] g = got.get(s.name()).floats();
                    assertThat(got.get(s.name()).shape()).isEqualTo(want.get(s.name()).shape());
                    for (int i = 0; i < w.length; i++) {
                        assertThat((double) g[i]).as("%s[%d] at %d rows", s.name(), i, rows)
                                .isCloseTo(w[i], org.assertj.core.data.Offset.offset(1e-5 * Math.max(1, Math.abs(w[i]))));
                    }
                }
            }
        }
        return plan;
    }

    @Test
    void mlpWithGemmTransposesAlphaBetaMatMulAndActivationsIsFusedAndMatchesOrt() throws Exception {
        Random r = new Random(1);
        OnnxGraphBuilder g = new OnnxGraphBuilder("mlp");
        TensorSpec x = spec("x", DataType.FP32, 12);
        TensorSpec y = spec("y", DataType.FP32, 1);
        g.input(x).output(y);
        g.initializer("w1", new long[] {12, 16}, random(r, 12 * 16, 1f));
        g.initializer("b1", new long[] {16}, random(r, 16, 1f));
        g.initializer("w2t", new long[] {8, 16}, random(r, 8 * 16, 1f));
        g.initializer("c2", new long[] {1, 8}, random(r, 8, 1f));
        g.initializer("w3", new long[] {8, 1}, random(r, 8, 1f));
        g.initializer("b3", new long[] {1}, random(r, 1, 1f));
        g.gemm("x", "w1", "b1", "h1").relu("h1", "a1");
        g.node("Gemm", List.of("a1", "w2t", "c2"), List.of("h2"), ofInt("transB", 1), ofFloat("alpha", 0.5f), ofFloat("beta", 2f));
        g.tanh("h2", "a2").matMul("a2", "w3", "z").add("z", "b3", "logit").sigmoid("logit", "y");
        ExecutionPlan plan = checkAgainstOrt(config(List.of(x), List.of(y)), g.toBytes(), 11);
        assertThat(plan.steps()).hasSize(3).allMatch(s -> s instanceof ExecutionPlan.Gemm);
        assertThat(plan.fusions()).contains("Gemm+RELU", "Gemm+TANH", "Gemm+Add");
    }

    @Test
    void softmaxClassifierMatchesOrt() throws Exception {
        Random r = new Random(2);
        OnnxGraphBuilder g = new OnnxGraphBuilder("cls");
        TensorSpec x = spec("x", DataType.FP32, 20);
        TensorSpec p = spec("p", DataType.FP32, 7);
        g.input(x).output(p);
        g.initializer("w", new long[] {20, 7}, random(r, 140, 1f));
        g.initializer("b", new long[] {1, 7}, random(r, 7, 1f));
        g.matMul("x", "w", "z").add("z", "b", "zb");
        g.node("Softmax", List.of("zb"), List.of("p"), ofInt("axis", -1));
        ExecutionPlan plan = checkAgainstOrt(config(List.of(x), List.of(p)), g.toBytes(), 12);
        assertThat(plan.steps()).hasSize(2);
    }

    @Test
    void embeddingGatherFlattenReshapeAndThreeDimensionalMatMulMatchOrt() throws Exception {
        Random r = new Random(3);
        OnnxGraphBuilder g = new OnnxGraphBuilder("emb");
        TensorSpec ids = spec("ids", DataType.INT64, 4);
        TensorSpec x = spec("x", DataType.FP32, 16);
        TensorSpec out1 = spec("pooled", DataType.FP32, 5);
        TensorSpec out2 = spec("seq", DataType.FP32, 6);
        g.input(ids).input(x).output(out1).output(out2);
        g.initializer("table", new long[] {50, 8}, random(r, 400, 1f));
        g.initializer("wf", new long[] {32, 5}, random(r, 160, 1f));
        g.initializer("shape3", new long[] {3}, new long[] {-1, 2, 8});
        g.initializer("w3", new long[] {8, 3}, random(r, 24, 1f));
        g.initializer("shape2", new long[] {2}, new long[] {0, 6});
        g.node("Gather", List.of("table", "ids"), List.of("e"), ofInt("axis", 0));
        g.node("Flatten", List.of("e"), List.of("ef"), ofInt("axis", 1));
        g.matMul("ef", "wf", "pf").relu("pf", "pooled");
        g.node("Reshape", List.of("x", "shape3"), List.of("x3"));
        g.matMul("x3", "w3", "s3");
        g.node("Softmax", List.of("s3"), List.of("p3"), ofInt("axis", 2));
        g.node("Reshape", List.of("p3", "shape2"), List.of("seq"));
        ExecutionPlan plan = checkAgainstOrt(config(List.of(ids, x), List.of(out1, out2)), g.toBytes(), 13);
        assertThat(plan.usesGather()).isTrue();
        assertThat(plan.steps()).anyMatch(s -> s instanceof ExecutionPlan.Gemm gm && gm.rowMul() == 2);
    }

    @Test
    void twoBranchAddScalarBroadcastAndIdentityOutputsMatchOrt() throws Exception {
        Random r = new Random(4);
        OnnxGraphBuilder g = new OnnxGraphBuilder("branches");
        TensorSpec x = spec("x", DataType.FP32, 6);
        TensorSpec y = spec("y", DataType.FP32, 4);
        TensorSpec echo = spec("echo", DataType.FP32, 6);
        g.input(x).output(y).output(echo);
        g.initializer("wa", new long[] {6, 4}, random(r, 24, 1f));
        g.initializer("wb", new long[] {6, 4}, random(r, 24, 1f));
        g.initializer("s", new long[] {1}, new float[] {0.75f});
        g.matMul("x", "wa", "a").matMul("x", "wb", "b").add("a", "b", "ab").add("ab", "s", "abs").sigmoid("abs", "y");
        g.identity("x", "echo");
        ExecutionPlan plan = checkAgainstOrt(config(List.of(x), List.of(y, echo)), g.toBytes(), 14);
        assertThat(plan.outputs().get(1).slot()).isEqualTo(plan.inputs().getFirst().slot());
    }

    private static void assertRefused(ModelConfig config, OnnxGraphBuilder g, String expected) {
        byte[] onnx = g.toBytes();
        assertThatThrownBy(() -> OnnxPlanCompiler.compile(KEY, config, onnx))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining(expected);
    }

    @Test
    void refusesWhatItCannotRun() {
        TensorSpec x = spec("x", DataType.FP32, 4);
        TensorSpec y = spec("y", DataType.FP32, 4);
        float[] w = new float[16];

        OnnxGraphBuilder conv = new OnnxGraphBuilder("g").input(x).output(y);
        conv.initializer("w", new long[] {4, 4}, w).node("Conv", List.of("x", "w"), List.of("y"));
        assertRefused(config(List.of(x), List.of(y)), conv, "operator Conv");

        OnnxGraphBuilder transA = new OnnxGraphBuilder("g").input(x).output(y);
        transA.initializer("w", new long[] {4, 4}, w).node("Gemm", List.of("x", "w"), List.of("y"), ofInt("transA", 1));
        assertRefused(config(List.of(x), List.of(y)), transA, "transA=1");

        OnnxGraphBuilder mm = new OnnxGraphBuilder("g").input(x).output(spec("y", DataType.FP32, 4));
        TensorSpec sq = spec("x", DataType.FP32, 4);
        mm.matMul("x", "x", "y");
        assertRefused(config(List.of(sq), List.of(y)), mm, "not a constant fp32 matrix");

        OnnxGraphBuilder sm = new OnnxGraphBuilder("g").input(x).output(y);
        sm.node("Softmax", List.of("x"), List.of("y"), ofInt("axis", 0));
        assertRefused(config(List.of(x), List.of(y)), sm, "Softmax over axis 0");

        TensorSpec text = spec("text", DataType.BYTES, 1);
        OnnxGraphBuilder bytes = new OnnxGraphBuilder("g").input(text).output(spec("t2", DataType.BYTES, 1));
        bytes.identity("text", "t2");
        assertRefused(config(List.of(text), List.of(spec("t2", DataType.BYTES, 1))), bytes, "BYTES");

        TensorSpec ids = spec("ids", DataType.INT64, 2);
        OnnxGraphBuilder i64 = new OnnxGraphBuilder("g").input(ids).output(spec("ids2", DataType.INT64, 2));
        i64.identity("ids", "ids2");
        assertRefused(config(List.of(ids), List.of(spec("ids2", DataType.INT64, 2))), i64, "only FP32 outputs");

        OnnxGraphBuilder reshape = new OnnxGraphBuilder("g").input(x).output(spec("y", DataType.FP32, 2, 2));
        reshape.initializer("s", new long[] {3}, new long[] {2, -1, 2}).node("Reshape", List.of("x", "s"), List.of("y"));
        assertRefused(config(List.of(x), List.of(spec("y", DataType.FP32, 2, 2))), reshape, "batch dimension must stay first");

        assertThatThrownBy(() -> OnnxPlanCompiler.compile(KEY, config(List.of(x), List.of(y)), new byte[] {1, 2, 3}))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("not a valid ONNX");
    }

    @Test
    void signatureMismatchWithTheConfigIsRefused() {
        TensorSpec x = spec("x", DataType.FP32, 4);
        OnnxGraphBuilder g = new OnnxGraphBuilder("g").input(x).output(spec("y", DataType.FP32, 4));
        g.relu("x", "y");
        assertRefused(config(List.of(spec("x", DataType.FP32, 5)), List.of(spec("y", DataType.FP32, 4))), g, "shape differs");
        OnnxGraphBuilder g2 = new OnnxGraphBuilder("g").input(x).output(spec("y", DataType.FP32, 4));
        g2.relu("x", "y");
        assertRefused(config(List.of(spec("other", DataType.FP32, 4)), List.of(spec("y", DataType.FP32, 4))), g2, "not in the graph");
    }
}
