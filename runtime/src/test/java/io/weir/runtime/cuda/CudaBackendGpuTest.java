package io.weir.runtime.cuda;

import io.weir.nativebindings.Cuda;
import io.weir.runtime.DataType;
import io.weir.runtime.InferenceException;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.Ticker;
import io.weir.runtime.embedding.DemoEmbeddings;
import io.weir.runtime.embedding.EmbeddingIndex;
import io.weir.runtime.embedding.VectorSearch;
import io.weir.runtime.onnx.OnnxGraphBuilder;
import io.weir.runtime.onnx.OnnxRuntimeBackend;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.weir.runtime.onnx.OnnxGraphBuilder.Attribute.ofInt;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Needs a CUDA GPU (skipped otherwise): the backend end to end against ONNX Runtime. */
class CudaBackendGpuTest {

    @BeforeEach
    void requireGpu() {
        assumeTrue(Cuda.probe().available(), () -> "no GPU: " + Cuda.probe());
    }

    private static CudaBackend backend() {
        return new CudaBackend(new CudaBackend.Config(0, 2, true, false, Duration.ofSeconds(5), true), Ticker.system());
    }

    private static ModelArtifact mlp() {
        Random r = new Random(5);
        TensorSpec x = OnnxPlanCompilerTest.spec("x", DataType.FP32, 40);
        TensorSpec y = OnnxPlanCompilerTest.spec("y", DataType.FP32, 3);
        OnnxGraphBuilder g = new OnnxGraphBuilder("mlp").input(x).output(y);
        g.initializer("w1", new long[] {40, 64}, OnnxPlanCompilerTest.random(r, 40 * 64, 0.3f));
        g.initializer("b1", new long[] {64}, OnnxPlanCompilerTest.random(r, 64, 0.1f));
        g.initializer("w2", new long[] {3, 64}, OnnxPlanCompilerTest.random(r, 3 * 64, 0.3f));
        g.initializer("b2", new long[] {3}, OnnxPlanCompilerTest.random(r, 3, 0.1f));
        g.gemm("x", "w1", "b1", "h").tanh("h", "a");
        g.node("Gemm", List.of("a", "w2", "b2"), List.of("z"), ofInt("transB", 1));
        g.node("Softmax", List.of("z"), List.of("y"), ofInt("axis", -1));
        ModelConfig cfg = OnnxPlanCompilerTest.config(List.of(x), List.of(y));
        return new ModelArtifact(new ModelKey("mlp", "1.0.0"), cfg, Path.of("."), g.toBytes(), "t");
    }

    @Test
    void matchesOnnxRuntimeEagerAndThroughGraphsFromSeveralThreads() throws Exception {
        ModelArtifact art = mlp();
        try (CudaBackend backend = backend(); OnnxRuntimeBackend ort = new OnnxRuntimeBackend(1);
             LoadedModel gpu = backend.load(art); LoadedModel cpu = ort.load(art);
             ExecutorService pool = Executors.newFixedThreadPool(4)) {
            assertThat(backend.isAvailable()).isTrue();
            List<Future<Double>> results = new java.util.ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                results.add(pool.submit(() -> {
                    Random r = new Random(seed);
                    double worst = 0;
                    for (int i = 0; i < 30; i++) {
                        int rows = 1 + r.nextInt(3) * 50; // few distinct sizes: graphs get captured and replayed
                        Map<String, Tensor> in = Map.of("x", Tensor.ofFloats(new long[] {rows, 40},
                                OnnxPlanCompilerTest.random(r, rows * 40, 2f)));
                        float[] a = gpu.run(in).get("y").floats();
                        float[] b = cpu.run(in).get("y").floats();
                        for (int j = 0; j < a.length; j++) {
                            worst = Math.max(worst, Math.abs(a[j] - b[j]) / Math.max(1, Math.abs(b[j])));
                        }
                    }
                    return worst;
                }));
            }
            for (Future<Double> f : results) {
                assertThat(f.get()).isLessThanOrEqualTo(1e-4);
            }
            CudaHealth.Snapshot h = backend.health().orElseThrow();
            assertThat(h.state()).isEqualTo(CudaHealth.State.HEALTHY);
            assertThat(h.deviceErrors()).isZero();
            assertThat(h.ewmaLatencyMicros()).isPositive();
            assertThat(h.inFlight()).isZero();
        }
    }

    @Test
    void cublasLtEngineMatchesOnnxRuntime() throws Exception {
        assumeTrue(io.weir.nativebindings.CublasLt.availability().available(), "no cuBLASLt");
        ModelArtifact art = mlp();
        CudaBackend.Config cfg = new CudaBackend.Config(0, 1, true, false, Duration.ofSeconds(5), true,
                CudaBackend.GemmEngine.LT);
        try (CudaBackend backend = new CudaBackend(cfg, Ticker.system()); OnnxRuntimeBackend ort = new OnnxRuntimeBackend(1);
             LoadedModel gpu = backend.load(art); LoadedModel cpu = ort.load(art)) {
            Random r = new Random(9);
            for (int i = 0; i < 6; i++) {
                int rows = i % 2 == 0 ? 7 : 130;
                Map<String, Tensor> in = Map.of("x", Tensor.ofFloats(new long[] {rows, 40},
                        OnnxPlanCompilerTest.random(r, rows * 40, 2f)));
                float[] a = gpu.run(in).get("y").floats();
                float[] b = cpu.run(in).get("y").floats();
                for (int j = 0; j < a.length; j++) {
                    assertThat((double) a[j]).isCloseTo(b[j], org.assertj.core.data.Offset.offset(1e-4 * Math.max(1, Math.abs(b[j]))));
                }
            }
        }
    }

    @Test
    void badInputsAreRequestErrorsNotDeviceFaults() throws Exception {
        try (CudaBackend backend = backend(); LoadedModel gpu = backend.load(mlp())) {
            assertThatThrownBy(() -> gpu.run(Map.of("x", Tensor.ofFloats(new long[] {1, 39}, new float[39]))))
                    .isInstanceOfSatisfying(InferenceException.class, e -> assertThat(e.deviceFault()).isFalse());
            assertThat(backend.health().orElseThrow().deviceErrors()).isZero();
        }
    }

    @Test
    void outOfRangeEmbeddingIdsAreReportedNotSilentlyZeroed() throws Exception {
        TensorSpec ids = OnnxPlanCompilerTest.spec("ids", DataType.INT64, 2);
        TensorSpec y = OnnxPlanCompilerTest.spec("y", DataType.FP32, 8);
        OnnxGraphBuilder g = new OnnxGraphBuilder("emb").input(ids).output(y);
        g.initializer("t", new long[] {10, 4}, OnnxPlanCompilerTest.random(new Random(1), 40, 1f));
        g.node("Gather", List.of("t", "ids"), List.of("e"), ofInt("axis", 0));
        g.node("Flatten", List.of("e"), List.of("y"), ofInt("axis", 1));
        ModelArtifact art = new ModelArtifact(new ModelKey("emb", "1"), OnnxPlanCompilerTest.config(List.of(ids), List.of(y)),
                Path.of("."), g.toBytes(), "t");
        try (CudaBackend backend = backend(); LoadedModel gpu = backend.load(art)) {
            assertThat(gpu.run(Map.of("ids", Tensor.ofLongs(new long[] {1, 2}, new long[] {3, -1}))).get("y").floats()).hasSize(8);
            assertThatThrownBy(() -> gpu.run(Map.of("ids", Tensor.ofLongs(new long[] {1, 2}, new long[] {3, 10}))))
                    .isInstanceOfSatisfying(InferenceException.class, e -> assertThat(e.deviceFault()).isFalse())
                    .hasMessageContaining("out of range");
        }
    }

    @Test
    void vectorSearchMatchesTheCpu() {
        EmbeddingIndex index = DemoEmbeddings.generate("t", 3, 5000, 32, 10, 0).index();
        float[] q = new float[4 * 32];
        for (int i = 0; i < 4; i++) {
            System.arraycopy(index.vector(i * 100), 0, q, i * 32, 32);
        }
        int[] k = {5, 5, 1, 20};
        int[][] ex = {{0}, null, {200}, {300, 301}};
        try (CudaBackend backend = backend(); VectorSearch gpu = backend.vectorSearchFactory(1).create(index);
             VectorSearch cpu = VectorSearch.cpu(1).create(index)) {
            assertThat(gpu.kind()).isEqualTo("cuda");
            VectorSearch.Hits[] a = gpu.search(q, 4, k, ex);
            VectorSearch.Hits[] b = cpu.search(q, 4, k, ex);
            for (int i = 0; i < 4; i++) {
                assertThat(a[i].size()).isEqualTo(k[i]);
                for (int j = 0; j < k[i]; j++) {
                    assertThat((double) a[i].scores()[j]).isCloseTo(b[i].scores()[j], org.assertj.core.data.Offset.offset(1e-4));
                }
            }
        }
    }
}
