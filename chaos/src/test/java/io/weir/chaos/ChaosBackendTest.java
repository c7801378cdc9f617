package io.weir.chaos;

import io.vertx.core.json.JsonObject;
import io.weir.runtime.Backend;
import io.weir.runtime.InferenceException;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ChaosBackendTest {
    private static final ModelKey KEY = new ModelKey("m", "1.0.0");

    /** A real (tiny) backend: y = 3x + 1, so a decorator that changed results would show. */
    static final class Affine implements Backend {
        @Override
        public String name() {
            return "cpu";
        }

        @Override
        public Availability availability() {
            return Availability.yes();
        }

        @Override
        public LoadedModel load(ModelArtifact artifact) {
            return new LoadedModel() {
                @Override
                public ModelKey key() {
                    return artifact.key();
                }

                @Override
                public String backend() {
                    return "cpu";
                }

                @Override
                public Map<String, Tensor> run(Map<String, Tensor> inputs) {
                    float[] x = inputs.get("x").floats();
                    float[] y = new float[x.length];
                    for (int i = 0; i < x.length; i++) {
                        y[i] = 3 * x[i] + 1;
                    }
                    return Map.of("y", Tensor.ofFloats(new long[] {x.length, 1}, y));
                }

                @Override
                public void close() {
                }
            };
        }
    }

    private static LoadedModel load(FaultInjector faults) throws Exception {
        ModelConfig config = ModelConfig.parse(new JsonObject("""
                {"name":"m","inputs":[{"name":"x","datatype":"FP32","shape":[-1,1]}],
                 "outputs":[{"name":"y","datatype":"FP32","shape":[-1,1]}]}"""));
        return new ChaosBackend(new Affine(), faults).load(new ModelArtifact(KEY, config, Path.of("."), new byte[0], "0"));
    }

    private static Map<String, Tensor> input(float... x) {
        return Map.of("x", Tensor.ofFloats(new long[] {x.length, 1}, x));
    }

    @Test
    void withoutFaultsResultsAreTheDelegates() throws Exception {
        LoadedModel m = load(new FaultInjector());
        assertThat(m.run(input(1, 2)).get("y").floats()).containsExactly(4f, 7f);
    }

    /** A device fault is one the batcher retries on the CPU; a plain one on the CPU is not a request's fault. */
    @Test
    void injectedFailuresAreDeviceFaultsOrPlainFailuresOfTheBatch() throws Exception {
        FaultInjector faults = new FaultInjector();
        LoadedModel m = load(faults);
        faults.set("m", null, new Fault(0, 1.0, true));
        assertThatThrownBy(() -> m.run(input(1))).isInstanceOf(InferenceException.class)
                .satisfies(e -> assertThat(((InferenceException) e).deviceFault()).isTrue());
        faults.set("m", "cpu", new Fault(0, 1.0, false));
        assertThatThrownBy(() -> m.run(input(1))).isInstanceOf(InjectedFailure.class);
        faults.clearAll();
        assertThat(m.run(input(5)).get("y").floats()).containsExactly(16f);
    }

    @Test
    void injectedLatencyHoldsTheComputeThread() throws Exception {
        FaultInjector faults = new FaultInjector();
        LoadedModel m = load(faults);
        faults.set(FaultInjector.ANY_MODEL, null, new Fault(30_000, 0, false));
        long start = System.nanoTime();
        assertThat(m.run(input(0)).get("y").floats()).containsExactly(1f);
        assertThat(System.nanoTime() - start).isGreaterThanOrEqualTo(30_000_000L);
    }

    @Test
    void theMostSpecificFaultWins() {
        FaultInjector faults = new FaultInjector();
        Fault any = new Fault(1, 0, false);
        Fault model = new Fault(2, 0, false);
        Fault modelOnCuda = new Fault(3, 0, true);
        faults.set(FaultInjector.ANY_MODEL, null, any);
        assertThat(faults.faultFor(KEY, "cpu")).contains(any);
        faults.set("m", null, model);
        faults.set("m", "cuda", modelOnCuda);
        assertThat(faults.faultFor(KEY, "cpu")).contains(model);
        assertThat(faults.faultFor(KEY, "cuda")).contains(modelOnCuda);
        assertThat(faults.faultFor(new ModelKey("other", "1.0.0"), "cuda")).contains(any);
        assertThatThrownBy(() -> new Fault(0, 1.5, false)).hasMessageContaining("failure_rate");

        // One version of the model (a bad canary beside a healthy primary), and that version on one backend.
        Fault version = new Fault(4, 0, false);
        Fault versionOnCuda = new Fault(5, 0, true);
        faults.set("m", KEY.version(), null, version);
        faults.set("m", KEY.version(), "cuda", versionOnCuda);
        assertThat(faults.faultFor(KEY, "cpu")).contains(version);
        assertThat(faults.faultFor(KEY, "cuda")).contains(versionOnCuda);
        assertThat(faults.faultFor(new ModelKey("m", "9.9.9"), "cpu")).as("another version of m").contains(model);
        assertThat(faults.snapshot()).containsKeys("m@" + KEY.version(), "m@" + KEY.version() + "/cuda");
        faults.clear("m", KEY.version(), null);
        assertThat(faults.faultFor(KEY, "cpu")).contains(model);
        assertThatThrownBy(() -> faults.set(FaultInjector.ANY_MODEL, "1.0.0", null, any)).hasMessageContaining("'*'");
    }
}
