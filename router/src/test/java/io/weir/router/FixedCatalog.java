package io.weir.router;

import io.vertx.core.json.JsonObject;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/** A catalog of "loaded" versions the test controls; every version of a model shares that model's config. */
public final class FixedCatalog implements ModelCatalog {
    private final Map<String, Set<String>> ready = new ConcurrentHashMap<>();
    private final Map<String, ModelConfig> configs = new ConcurrentHashMap<>();

    /** The test model: 4 features in, one FP32 score out, label at 0.5, 50 ms budget, a moderate feature contract. */
    public static ModelConfig moderationConfig(String name) {
        JsonObject contract = new JsonObject().put("version", "1").put("api", "moderate").put("input", "features")
                .put("output", "score").put("fields", new io.vertx.core.json.JsonArray()
                        .add(numeric("a")).add(numeric("b")).add(numeric("c")).add(numeric("d")));
        return ModelConfig.parse(new JsonObject().put("name", name)
                .put("inputs", new io.vertx.core.json.JsonArray().add(new JsonObject().put("name", "features")
                        .put("datatype", "FP32").put("shape", new io.vertx.core.json.JsonArray().add(-1).add(4))))
                .put("outputs", new io.vertx.core.json.JsonArray().add(new JsonObject().put("name", "score")
                        .put("datatype", "FP32").put("shape", new io.vertx.core.json.JsonArray().add(-1).add(1))))
                .put("latency_budget_ms", 50).put("feature_contract", contract)
                .put("label", new JsonObject().put("threshold", 0.5).put("positive", "toxic").put("negative", "ok"))
                .put("acceptance", new JsonObject().put("min_auc", 0.8).put("max_abs_score_diff", 1e-4)));
    }

    private static JsonObject numeric(String f) {
        return new JsonObject().put("name", f).put("path", "request." + f).put("type", "numeric");
    }

    public FixedCatalog load(String model, String... versions) {
        configs.computeIfAbsent(model, FixedCatalog::moderationConfig);
        ready.computeIfAbsent(model, k -> ConcurrentHashMap.newKeySet()).addAll(List.of(versions));
        return this;
    }

    public FixedCatalog unload(String model, String version) {
        ready.getOrDefault(model, Set.of()).remove(version);
        return this;
    }

    @Override
    public List<String> readyVersions(String model) {
        List<String> v = new ArrayList<>(ready.getOrDefault(model, Set.of()));
        v.sort(Comparator.reverseOrder());
        return v;
    }

    @Override
    public Optional<ModelConfig> config(ModelKey key) {
        return readyVersions(key.model()).contains(key.version()) ? Optional.ofNullable(configs.get(key.model()))
                : Optional.empty();
    }
}
