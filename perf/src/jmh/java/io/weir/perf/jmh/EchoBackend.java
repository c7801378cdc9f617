package io.weir.perf.jmh;

import io.weir.runtime.Backend;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;

import java.util.Map;

/** The no-op backend: {@code y} is {@code x}, returned as is, so the benchmark measures the batcher, not a model. */
final class EchoBackend implements Backend {
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
        ModelKey key = artifact.key();
        return new LoadedModel() {
            @Override
            public ModelKey key() {
                return key;
            }

            @Override
            public String backend() {
                return "cpu";
            }

            @Override
            public Map<String, Tensor> run(Map<String, Tensor> inputs) {
                return Map.of("y", inputs.get("x"));
            }

            @Override
            public void close() {
            }
        };
    }
}
