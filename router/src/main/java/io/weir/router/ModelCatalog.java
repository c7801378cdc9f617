package io.weir.router;

import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelHandle;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;

import java.util.List;
import java.util.Optional;

/**
 * What the router needs to know about loaded models, so that it does not depend on how they are loaded. The real one
 * is {@link #of(ModelRegistry)}.
 */
public interface ModelCatalog {

    /** READY versions of a model, newest first; empty when the model is unknown or nothing is loaded. */
    List<String> readyVersions(String model);

    /** The declared config of a READY version (for its label, latency budget, outputs and acceptance thresholds). */
    Optional<ModelConfig> config(ModelKey key);

    default Optional<String> latestReady(String model) {
        return readyVersions(model).stream().findFirst();
    }

    static ModelCatalog of(ModelRegistry registry) {
        return new ModelCatalog() {
            @Override
            public List<String> readyVersions(String model) {
                return registry.readyVersions(model);
            }

            @Override
            public Optional<String> latestReady(String model) {
                return registry.latestReady(model);
            }

            @Override
            public Optional<ModelConfig> config(ModelKey key) {
                return registry.peek(key).map(ModelHandle::config);
            }
        };
    }
}
