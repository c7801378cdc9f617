package io.weir.perf.jmh;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import io.weir.runtime.DataType;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.demo.DemoRepository;
import io.weir.runtime.onnx.OnnxRuntimeBackend;
import io.weir.runtime.repository.ModelRepository;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * One CPU-backend call on a demo model ({@code ranker} 1.1.0, 50 rows a request; {@code moderation}, one row a
 * request) at a batch size, input to output as the batch runner sees it: {@link OnnxRuntimeBackend}, which stages
 * inputs in reused native memory ({@code staged}), against the {@code heap-copy} baseline, the backend's previous
 * path: the heap array handed to ORT as a wrapped buffer (ORT allocates a direct buffer per tensor and copies into
 * it), the output copied out twice. Same session options on both sides. Each call checks the staged path's scores
 * equal the baseline's, computed once in setup.
 *
 * <p>Two more arms hand the backend the batch as the batch runner does, one tensor a request (one row each: the
 * most parts a batch of that many rows can have): {@code batch-joined}, the runner's path now
 * ({@link Tensor#joinRows}: each request's rows copied once, straight into the staged native input), against
 * {@code batch-concat}, its previous path ({@link Tensor#concatRows} into a heap array first, then staged).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx1g"})
public class OnnxInputBenchmark {
    @Param({"moderation", "ranker"})
    public String model;

    @Param({"1", "8", "64", "256"})
    public int rows;

    @Param({"staged", "heap-copy", "batch-joined", "batch-concat"})
    public String impl;

    private OnnxRuntimeBackend backend;
    private LoadedModel loaded;
    private OrtEnvironment env;
    private OrtSession baseline;
    private String input;
    private String output;
    private long[] shape;
    private float[] features;
    private List<Tensor> requests;
    private float[] expected;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        ModelKey key = new ModelKey(model, model.equals("ranker") ? "1.1.0" : "1.0.0");
        ModelArtifact artifact = ModelRepository.open(DemoRepository.materialize()).read(key);
        TensorSpec in = artifact.config().inputs().getFirst();
        if (artifact.config().inputs().size() != 1 || in.dataType() != DataType.FP32) {
            throw new IllegalStateException(key + ": expected one FP32 input, found " + artifact.config().inputs());
        }
        input = in.name();
        output = artifact.config().outputs().getFirst().name();
        int width = Math.toIntExact(in.shape()[1]);
        shape = new long[] {rows, width};
        features = new float[rows * width];
        Random rng = new Random(7);
        for (int i = 0; i < features.length; i++) {
            features[i] = rng.nextInt(8) == 0 ? rng.nextFloat() : 0f;
        }
        requests = new ArrayList<>(rows);
        for (int r = 0; r < rows; r++) {
            requests.add(Tensor.ofFloats(new long[] {1, width}, Arrays.copyOfRange(features, r * width, (r + 1) * width)));
        }
        env = OrtEnvironment.getEnvironment();
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {   // as OnnxRuntimeBackend.load
            opts.setIntraOpNumThreads(1);
            opts.setInterOpNumThreads(1);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            baseline = env.createSession(artifact.onnx(), opts);
        }
        backend = new OnnxRuntimeBackend(1);
        loaded = backend.load(artifact);
        expected = heapCopy();
        for (String arm : List.of("staged", "batch-joined", "batch-concat")) {
            if (!Arrays.equals(call(arm), expected)) {
                throw new IllegalStateException(arm + " and heap-copy scores differ for " + key + " at " + rows + " rows");
            }
        }
    }

    private float[] call(String arm) throws Exception {
        return switch (arm) {
            case "staged" -> staged();
            case "heap-copy" -> heapCopy();
            case "batch-joined" -> loaded.run(Map.of(input, Tensor.joinRows(requests))).get(output).floats();
            case "batch-concat" -> loaded.run(Map.of(input, Tensor.concatRows(requests))).get(output).floats();
            default -> throw new IllegalArgumentException("no arm " + arm);
        };
    }

    private float[] staged() throws Exception {
        return loaded.run(Map.of(input, Tensor.ofFloats(shape, features))).get(output).floats();
    }

    private float[] heapCopy() throws OrtException {
        try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(features), shape);
             OrtSession.Result r = baseline.run(Map.of(input, t))) {
            FloatBuffer fb = ((OnnxTensor) r.get(output).orElseThrow()).getFloatBuffer();
            float[] out = new float[fb.remaining()];
            fb.get(out);
            return out;
        }
    }

    @Benchmark
    public float run() throws Exception {
        float[] scores = call(impl);
        if (scores.length != expected.length || scores[scores.length - 1] != expected[expected.length - 1]) {
            throw new IllegalStateException("scores changed between calls");
        }
        return scores[0];
    }

    @TearDown(Level.Trial)
    public void tearDown() throws OrtException {
        loaded.close();
        backend.close();
        baseline.close();
    }
}
