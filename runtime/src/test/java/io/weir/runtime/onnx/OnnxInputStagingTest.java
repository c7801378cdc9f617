package io.weir.runtime.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;
import io.weir.runtime.demo.DemoRepository;
import io.weir.runtime.repository.ModelRepository;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Inputs staged in reused native memory ({@link OnnxRuntimeBackend.InputStaging}) must give exactly what ORT gives
 * from fresh buffers, whatever ran on the thread before: larger and smaller batches in turn, several threads at
 * once, every numeric input type.
 */
class OnnxInputStagingTest {
    private static OnnxRuntimeBackend backend;
    private static LoadedModel echo;
    private static LoadedModel moderation;
    private static ModelArtifact moderationArtifact;

    @BeforeAll
    static void load() throws Exception {
        ModelRepository repo = ModelRepository.open(DemoRepository.materialize());
        backend = new OnnxRuntimeBackend(1);
        echo = backend.load(repo.read(new ModelKey("echo", "1.0.0")));
        moderationArtifact = repo.read(new ModelKey("moderation", "1.0.0"));
        moderation = backend.load(moderationArtifact);
    }

    @AfterAll
    static void close() {
        echo.close();
        moderation.close();
        backend.close();
    }

    private static Map<String, Tensor> echoInputs(int rows, Random rng) {
        float[] x = new float[rows * 16];
        long[] ids = new long[rows * 4];
        byte[][] text = new byte[rows][];
        for (int i = 0; i < x.length; i++) {
            x[i] = rng.nextFloat() * 200 - 100;
        }
        for (int i = 0; i < ids.length; i++) {
            ids[i] = rng.nextLong();
        }
        for (int r = 0; r < rows; r++) {
            text[r] = ("row " + r + " " + rng.nextInt()).getBytes(StandardCharsets.UTF_8);
        }
        Map<String, Tensor> in = new LinkedHashMap<>();
        in.put("x", Tensor.ofFloats(new long[] {rows, 16}, x));
        in.put("ids", Tensor.ofLongs(new long[] {rows, 4}, ids));
        in.put("text", Tensor.ofBytes(new long[] {rows, 1}, text));
        return in;
    }

    private static void assertEchoes(Map<String, Tensor> in, Map<String, Tensor> out) {
        assertThat(out.get("x_out").shape()).isEqualTo(in.get("x").shape());
        assertThat(out.get("x_out").floats()).isEqualTo(in.get("x").floats());
        assertThat(out.get("ids_out").shape()).isEqualTo(in.get("ids").shape());
        assertThat(out.get("ids_out").longs()).isEqualTo(in.get("ids").longs());
        assertThat(out.get("text_out").bytes()).isEqualTo(in.get("text").bytes());
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    void everyBatchEchoesItsOwnRowsWhateverRanBeforeOnTheThread(long seed) throws Exception {
        Random rng = new Random(seed);
        // Large after small and small after large: a slot grown by one batch and reused by a smaller one must not
        // leak the larger batch's tail into the smaller one's tensor.
        int[] batches = {1, 7, 256, 3, 1024, 1, 64, 2};
        for (int rows : batches) {
            Map<String, Tensor> in = echoInputs(rows, rng);
            assertEchoes(in, echo.run(in));
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {11, 12, 13})
    void aJoinedBatchRunsAsItsConcatenatedInputs(long seed) throws Exception {
        Random rng = new Random(seed);
        List<Map<String, Tensor>> requests = new ArrayList<>();
        int n = 2 + rng.nextInt(30);
        for (int i = 0; i < n; i++) {
            requests.add(echoInputs(1 + rng.nextInt(4), rng));
        }
        Map<String, Tensor> joined = new LinkedHashMap<>();
        Map<String, Tensor> concatenated = new LinkedHashMap<>();
        for (String name : requests.getFirst().keySet()) {
            List<Tensor> parts = requests.stream().map(r -> r.get(name)).toList();
            joined.put(name, Tensor.joinRows(parts));
            concatenated.put(name, Tensor.concatRows(parts));
        }
        echo.run(echoInputs(300, rng));   // a larger batch first: its tail must not show through
        assertEchoes(concatenated, echo.run(joined));
    }

    @Test
    void moderationScoresMatchOrtFedFromFreshHeapBuffers() throws Exception {
        Random rng = new Random(42);
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(1);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            try (OrtSession reference = env.createSession(moderationArtifact.onnx(), opts)) {
                for (int rows : new int[] {256, 1, 17, 2, 128}) {
                    float[] features = new float[rows * 1024];
                    for (int i = 0; i < features.length; i++) {
                        features[i] = rng.nextInt(8) == 0 ? rng.nextFloat() : 0f;   // sparse, like hashed n-grams
                    }
                    long[] shape = {rows, 1024};
                    float[] expected;
                    try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(features), shape);
                         OrtSession.Result r = reference.run(Map.of("features", t))) {
                        FloatBuffer fb = ((OnnxTensor) r.get("score").orElseThrow()).getFloatBuffer();
                        expected = new float[fb.remaining()];
                        fb.get(expected);
                    }
                    Tensor score = moderation.run(Map.of("features", Tensor.ofFloats(shape, features))).get("score");
                    assertThat(score.shape()).containsExactly(rows, 1);
                    assertThat(score.floats()).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void threadsRunningAtOnceEachGetTheirOwnRows() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Future<Integer>> done = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                long seed = 100 + t;
                done.add(pool.submit(() -> {
                    Random rng = new Random(seed);
                    for (int i = 0; i < 200; i++) {
                        Map<String, Tensor> in = echoInputs(1 + rng.nextInt(64), rng);
                        assertEchoes(in, echo.run(in));
                    }
                    return 200;
                }));
            }
            for (Future<Integer> f : done) {
                assertThat(f.get()).isEqualTo(200);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void slotsGrowToAPowerOfTwoAndGiantInputsAreNotKept() {
        OnnxRuntimeBackend.InputStaging staging = new OnnxRuntimeBackend.InputStaging();
        ByteBuffer first = staging.buffer(0, 1000);
        assertThat(first.isDirect()).isTrue();
        assertThat(first.remaining()).isEqualTo(1000);
        assertThat(first.capacity()).isEqualTo(1024);
        assertThat(staging.buffer(0, 600)).isSameAs(first);   // reused, and cut to the new size
        assertThat(first.remaining()).isEqualTo(600);
        assertThat(staging.buffer(3, 100).remaining()).isEqualTo(100);   // a fourth input: slots extend
        assertThat(staging.retainedBytes()).isEqualTo(1024 + 128);

        int giant = OnnxRuntimeBackend.InputStaging.RETAINED_MAX_BYTES + 1;
        ByteBuffer own = staging.buffer(0, giant);
        assertThat(own.remaining()).isEqualTo(giant);
        assertThat(staging.retainedBytes()).isEqualTo(1024 + 128);
        assertThat(staging.buffer(0, 10)).isSameAs(first);

        assertThatThrownBy(() -> staging.buffer(0, 1L << 33)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("over what one buffer holds");
    }
}
