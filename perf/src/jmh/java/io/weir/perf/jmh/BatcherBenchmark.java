package io.weir.perf.jmh;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.BatchingDispatcher;
import io.weir.batcher.BatchingOptions;
import io.weir.batcher.InferenceDispatcher;
import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.batcher.Priority;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Tensor;
import io.weir.runtime.Ticker;
import io.weir.runtime.repository.Checksums;
import io.weir.runtime.repository.ModelRepository;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Ring + batcher cost per request with a no-op backend: each invocation submits a burst of {@value #BURST}
 * one-row requests (as an event loop would under load), waits for all of them and checks every answer is its own
 * request's row. Reported time is per request. {@code impl}: the Disruptor dispatcher with each wait strategy (the
 * {@code fixed} policy with no queue delay, so batches form only from what is already waiting, like the baseline),
 * or the {@link AbqBatcher} baseline. {@code registry}: where the dispatcher's meters go, {@code simple} (Micrometer's
 * in-memory registry, no histogram buckets) or {@code prometheus} (the gateway's, which builds the timers' buckets).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx1g"})
public class BatcherBenchmark {
    static final int BURST = 64;
    private static final ModelKey KEY = new ModelKey("echo", "1.0.0");

    @Param({"disruptor-parking", "disruptor-blocking", "disruptor-sleeping", "disruptor-yielding", "abq"})
    public String impl;

    @Param({"simple", "prometheus"})
    public String registry;

    private Path repo;
    private ModelRegistry models;
    private InferenceDispatcher dispatcher;
    private Ticker ticker;
    private final float[] values = new float[BURST];

    /** Each benchmark thread (a producer, like an event loop) keeps its own burst in flight. */
    @State(Scope.Thread)
    public static class Burst {
        @SuppressWarnings("unchecked")
        final CompletableFuture<InferenceResult>[] futures = new CompletableFuture[BURST];
    }

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        repo = Files.createTempDirectory("weir-jmh");
        JsonArray shape = new JsonArray().add(-1).add(1);
        JsonObject config = new JsonObject().put("name", "echo")
                .put("inputs", new JsonArray().add(new JsonObject().put("name", "x").put("datatype", "FP32").put("shape", shape)))
                .put("outputs", new JsonArray().add(new JsonObject().put("name", "y").put("datatype", "FP32").put("shape", shape)))
                .put("max_batch_rows", 64).put("latency_budget_ms", 60_000)
                .put("batching", new JsonObject().put("policy", "fixed").put("max_queue_delay_us", 0));
        Path version = repo.resolve("echo").resolve("1.0.0");
        Files.createDirectories(version);
        Files.writeString(repo.resolve("echo").resolve("config.json"), config.encode(), StandardCharsets.UTF_8);
        Files.write(version.resolve("model.onnx"), new byte[] {0});
        Checksums.writeSums(version, List.of("model.onnx"));
        models = new ModelRegistry(ModelRepository.open(repo), List.of(new EchoBackend()));
        models.loadAll();
        ticker = Ticker.system();
        int cpuThreads = 2;
        dispatcher = switch (impl) {
            case "abq" -> new AbqBatcher(models, ticker, cpuThreads, 1024, 64);
            default -> new BatchingDispatcher(models, ticker, cpuThreads, switch (registry) {
                        case "simple" -> new SimpleMeterRegistry();
                        case "prometheus" -> new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
                        default -> throw new IllegalArgumentException("registry: simple or prometheus");
                    },
                    BatchingOptions.defaults().withWaitMode(BatchingOptions.WaitMode.valueOf(
                            impl.substring("disruptor-".length()).toUpperCase(java.util.Locale.ROOT))));
        };
        for (int i = 0; i < BURST; i++) {
            values[i] = i * 3 + 1;
        }
    }

    @Benchmark
    @OperationsPerInvocation(BURST)
    public float burst(Burst burst) throws Exception {
        CompletableFuture<InferenceResult>[] futures = burst.futures;
        for (int i = 0; i < BURST; i++) {
            long now = ticker.nanos();
            InferenceRequest r = new InferenceRequest(KEY, Map.of("x", Tensor.ofFloats(new long[] {1, 1}, new float[] {values[i]})),
                    1, now, Long.MAX_VALUE, Priority.NORMAL);
            futures[i] = dispatcher.submit(r);
        }
        float sum = 0;
        for (int i = 0; i < BURST; i++) {
            float y = futures[i].get(10, TimeUnit.SECONDS).outputs().get("y").floats()[0];
            if (y != values[i]) {
                throw new IllegalStateException("request " + i + " got " + y + ", expected " + values[i]);
            }
            sum += y;
        }
        return sum;
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        dispatcher.close();
        models.close();
        try (Stream<Path> s = Files.walk(repo)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
