package io.weir.runtime;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.demo.DemoRepository;
import io.weir.runtime.onnx.OnnxRuntimeBackend;
import io.weir.runtime.repository.ModelRepository;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** Loading, reloading and unloading through the registry when a config, a warm-up or a close goes wrong. */
class ModelRegistryTest {
    private static final ModelKey ECHO = new ModelKey("echo", "1.0.0");
    private static final ModelKey MODERATION = new ModelKey("moderation", "1.0.0");

    @TempDir
    Path tmp;

    /**
     * A second backend beside ONNX Runtime, as a GPU would be: its executables answer the declared outputs with zeros,
     * or fail their warm-up, or throw when closed, as the test says; it counts what it opened and what it was asked
     * to close.
     */
    static final class DeviceStandIn implements Backend {
        final AtomicInteger opened = new AtomicInteger();
        final AtomicInteger closed = new AtomicInteger();
        volatile boolean runFails;
        volatile boolean closeThrows;

        @Override
        public String name() {
            return "gpu";
        }

        @Override
        public Availability availability() {
            return Availability.yes();
        }

        @Override
        public LoadedModel load(ModelArtifact artifact) {
            opened.incrementAndGet();
            return new LoadedModel() {
                @Override
                public ModelKey key() {
                    return artifact.key();
                }

                @Override
                public String backend() {
                    return "gpu";
                }

                @Override
                public Map<String, Tensor> run(Map<String, Tensor> inputs) throws InferenceException {
                    if (runFails) {
                        throw new InferenceException("injected: the device refused the batch", true);
                    }
                    return Warmup.zeros(artifact.config().outputs(), inputs.values().iterator().next().rows());
                }

                @Override
                public void close() {
                    closed.incrementAndGet();
                    if (closeThrows) {
                        throw new IllegalStateException("injected: cuMemFree failed on a poisoned context");
                    }
                }
            };
        }

        @Override
        public void close() {
        }
    }

    @Test
    void anExecutableWhoseWarmUpFailsIsClosedAndTheVersionServesOnTheCpu() {
        DeviceStandIn gpu = new DeviceStandIn();
        gpu.runFails = true;
        try (ModelRegistry r = new ModelRegistry(ModelRepository.open(DemoRepository.materialize()),
                List.of(gpu, new OnnxRuntimeBackend(1)))) {
            r.loadAll();
            assertThat(r.statuses()).allSatisfy(s -> {
                assertThat(s.state()).as(s.key() + ": " + s.message()).isEqualTo(ModelRegistry.State.READY);
                assertThat(s.backends()).containsExactly("cpu");
            });
            assertThat(r.peek(ECHO).orElseThrow().backendRefusals().get("gpu")).startsWith("warm-up failed");
            assertThat(gpu.opened.get()).isEqualTo(4);
            assertThat(gpu.closed.get()).as("every executable that failed its warm-up").isEqualTo(4);
        }
    }

    @Test
    void anExecutableThatThrowsOnCloseNeitherFailsAReloadNorSilencesTheListeners() {
        DeviceStandIn gpu = new DeviceStandIn();
        gpu.closeThrows = true;
        try (ModelRegistry r = new ModelRegistry(ModelRepository.open(DemoRepository.materialize()),
                List.of(gpu, new OnnxRuntimeBackend(1)))) {
            r.loadAll();
            List<ModelKey> notified = new ArrayList<>();
            r.onChange(notified::add);
            r.onChange(notified::add);

            ModelRegistry.Status reloaded = r.load(ECHO);
            assertThat(reloaded.state()).isEqualTo(ModelRegistry.State.READY);
            assertThat(reloaded.backends()).containsExactly("gpu", "cpu");
            assertThat(gpu.closed.get()).as("the retired handle's executable").isEqualTo(1);
            assertThat(notified).containsExactly(ECHO, ECHO);

            ModelHandle lease = r.acquire(MODERATION).orElseThrow();
            assertThat(r.unload(MODERATION).state()).isEqualTo(ModelRegistry.State.UNLOADED);
            assertThat(notified).containsExactly(ECHO, ECHO, MODERATION, MODERATION);
            lease.release(); // the last lease closes the executables: the throwing close stays here
            assertThat(gpu.closed.get()).isEqualTo(2);
        }
    }

    @Test
    void anUnloadsListenersCanStillLeaseTheVersionForWorkItAdmittedAndTheLastLeaseClosesIt() {
        DeviceStandIn gpu = new DeviceStandIn();
        try (ModelRegistry r = new ModelRegistry(ModelRepository.open(DemoRepository.materialize()),
                List.of(gpu, new OnnxRuntimeBackend(1)))) {
            r.loadAll();
            ModelHandle unloaded = r.peek(MODERATION).orElseThrow();
            List<ModelHandle> leasedByListener = new ArrayList<>();
            r.onChange(key -> {
                assertThat(r.peek(key)).as("new requests no longer find it").isEmpty();
                if (unloaded.tryAcquire()) { // as the batcher does for the requests still in its queue
                    leasedByListener.add(unloaded);
                }
            });
            int closedBefore = gpu.closed.get();
            r.unload(MODERATION);
            assertThat(leasedByListener).containsExactly(unloaded);
            assertThat(unloaded.tryAcquire()).as("no lease after the unload returned").isFalse();
            assertThat(gpu.closed.get()).as("open while the listener's work runs").isEqualTo(closedBefore);
            leasedByListener.getFirst().release();
            assertThat(gpu.closed.get()).isEqualTo(closedBefore + 1);
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "max_batch_rows null | 'max_batch_rows' is null",
            "max_batch_rows 2^28 | elements a batch",
            "latency_budget_ms 1e13 | 'latency_budget_ms' must be between",
            "latency_budget_ms 1e-9 | 'latency_budget_ms' must be between",
            "shape entry null | inputs[0].shape[1] must be an integer",
            "label threshold null | malformed config.json",
    })
    void aConfigThatCannotServeFailsItsOwnVersionAndTheOthersStillLoad(String change, String message) throws Exception {
        Path repo = DemoRepository.extractTo(tmp);
        Path file = repo.resolve("echo/config.json");
        JsonObject config = new JsonObject(Files.readString(file));
        switch (change) {
            case "max_batch_rows null" -> config.putNull("max_batch_rows");
            case "max_batch_rows 2^28" -> config.put("max_batch_rows", 1 << 28);
            case "latency_budget_ms 1e13" -> config.put("latency_budget_ms", 1e13);
            case "latency_budget_ms 1e-9" -> config.put("latency_budget_ms", 1e-9);
            case "shape entry null" -> config.getJsonArray("inputs").getJsonObject(0)
                    .put("shape", new JsonArray().add(-1).addNull());
            case "label threshold null" -> config.put("label", new JsonObject().putNull("threshold"));
            default -> throw new IllegalArgumentException(change);
        }
        Files.writeString(file, config.encodePrettily());
        try (ModelRegistry r = new ModelRegistry(ModelRepository.open(repo), List.of(new OnnxRuntimeBackend(1)))) {
            r.loadAll();
            assertThat(r.status(ECHO).orElseThrow()).satisfies(s -> {
                assertThat(s.state()).isEqualTo(ModelRegistry.State.FAILED);
                assertThat(s.message()).contains(message);
            });
            assertThat(r.statuses()).filteredOn(s -> !s.key().equals(ECHO))
                    .hasSize(3).allSatisfy(s -> assertThat(s.state()).isEqualTo(ModelRegistry.State.READY));
        }
    }
}
