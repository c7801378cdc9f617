package io.weir.chaos;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.BatchingDispatcher;
import io.weir.batcher.BatchingOptions;
import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.batcher.Priority;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Tensor;
import io.weir.runtime.Ticker;
import io.weir.runtime.WeirException;
import io.weir.runtime.repository.Checksums;
import io.weir.runtime.repository.ModelRepository;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Injected failures through the real batcher: a plain failure ({@code device_fault: false}) on the CPU fails its
 * batch as a whole, so a failure rate is the share of requests that fail, not its square.
 */
class ChaosBatchingTest {
    private static final ModelKey KEY = new ModelKey("m", "1.0.0");
    private static final int WAVE = 8;
    private static final int WAVES = 40;
    private static final long SEED = 20_261_128L;

    @TempDir
    Path repository;

    /**
     * Waves of {@link #WAVE} one-row requests, each wave exactly one batch (the cap; the delay is far off), each batch
     * one draw from a seeded source: the INTERNAL answers are the failed draws' waves, all of them and nothing else.
     */
    @Test
    void aPlainFailureFailsEveryRequestOfItsBatchAndNoneIsRunAgain() throws Exception {
        writeModel();
        FaultInjector faults = new FaultInjector();
        ChaosBackend chaos = new ChaosBackend(new ChaosBackendTest.Affine(), faults, new Random(SEED)::nextDouble);
        ModelRegistry registry = new ModelRegistry(ModelRepository.open(repository), List.of(chaos));
        registry.loadAll();   // before the fault: loading warms the model up through the backend
        faults.set("m", null, new Fault(0, 0.5, false));
        BatchingDispatcher dispatcher = new BatchingDispatcher(registry, Ticker.system(), 1, new SimpleMeterRegistry(),
                BatchingOptions.defaults());
        try {
            int internal = 0;
            for (int w = 0; w < WAVES; w++) {
                List<CompletableFuture<InferenceResult>> answers = new ArrayList<>();
                for (int i = 0; i < WAVE; i++) {
                    answers.add(dispatcher.submit(request(w * WAVE + i)));
                }
                for (CompletableFuture<InferenceResult> a : answers) {
                    try {
                        a.get(30, TimeUnit.SECONDS);
                    } catch (ExecutionException e) {
                        assertThat(e.getCause()).isInstanceOf(WeirException.class);
                        assertThat(((WeirException) e.getCause()).code()).isEqualTo(ErrorCode.INTERNAL);
                        internal++;
                    }
                }
            }
            Random replay = new Random(SEED);
            int failedDraws = 0;
            for (int w = 0; w < WAVES; w++) {
                failedDraws += replay.nextDouble() < 0.5 ? 1 : 0;
            }
            assertThat(chaos.failedBatches()).isEqualTo(failedDraws);
            assertThat(internal).isEqualTo(failedDraws * WAVE);
            assertThat(internal / (double) (WAVES * WAVE)).as("share answered INTERNAL").isBetween(0.35, 0.65);
        } finally {
            dispatcher.close();
            registry.close();
        }
    }

    private void writeModel() throws Exception {
        JsonArray scalar = new JsonArray().add(-1).add(1);
        JsonObject config = new JsonObject().put("name", "m")
                .put("inputs", new JsonArray().add(new JsonObject().put("name", "x").put("datatype", "FP32").put("shape", scalar)))
                .put("outputs", new JsonArray().add(new JsonObject().put("name", "y").put("datatype", "FP32").put("shape", scalar)))
                .put("max_batch_rows", WAVE).put("latency_budget_ms", 60_000)
                .put("batching", new JsonObject().put("policy", "fixed").put("max_queue_delay_us", 30_000_000));
        Path version = repository.resolve("m").resolve(KEY.version());
        Files.createDirectories(version);
        Files.writeString(repository.resolve("m").resolve("config.json"), config.encode());
        Files.writeString(version.resolve("model.onnx"), "computed by the test backend");
        Checksums.writeSums(version, List.of("model.onnx"));
    }

    private static InferenceRequest request(int i) {
        long now = Ticker.system().nanos();
        return new InferenceRequest(KEY, Map.of("x", Tensor.ofFloats(new long[] {1, 1}, new float[] {i})), 1, now,
                now + TimeUnit.SECONDS.toNanos(60), Priority.NORMAL);
    }
}
