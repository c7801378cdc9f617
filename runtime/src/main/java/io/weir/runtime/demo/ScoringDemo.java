package io.weir.runtime.demo;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.features.FeatureContract;

import java.util.List;

/**
 * A demo model served through a native API: requests are encoded by its {@link FeatureContract}, every row gets a
 * score, and a hidden ground truth says which rows are positive. {@link DemoRepositoryWriter} trains, exports and
 * golden-tests any such model the same way.
 */
interface ScoringDemo {

    /** How one version is trained: its seed, network shape and optimiser settings. */
    record VersionPlan(String version, long seed, int hidden, Mlp.Activation activation, int trainingRequests,
                       Mlp.Training training) {
    }

    /** A native-API request with the ground truth of each of its rows (one per candidate, or one). */
    record LabelledRequest(JsonObject request, int[] truth, double[] probability) {
    }

    String name();

    FeatureContract contract();

    List<VersionPlan> versions();

    /** Seed of the golden requests (shared by all versions, so versions are compared on the same requests). */
    long goldenSeed();

    /** Draws a request and its ground truth from the synthetic world. */
    LabelledRequest sample(DemoRandom rng, String requestId);

    /** The {@code expected} object of a golden line from the model's scores of the request's rows. */
    JsonObject expected(JsonObject request, float[] scores, ModelConfig config);

    /** The complete {@code config.json}; {@code minAuc} is the golden acceptance floor. */
    JsonObject config(double minAuc);

    /** The acceptance floor given the lowest AUC any version measured on the golden set. */
    double minAuc(double lowestMeasuredAuc);

    /**
     * The {@code config.json} every scoring demo shares: the contract's FP32 {@code features} in, one {@code score}
     * per row out, adaptive batching, a 0.5 label threshold, and golden acceptance at {@code minAuc} with scores
     * within 1e-5. Key order is fixed, as the committed repository's bytes depend on it.
     *
     * @param contractJson {@code contract} as written (copied into the config)
     */
    static JsonObject config(String name, String description, FeatureContract contract, JsonObject contractJson,
                             int latencyBudgetMs, String positiveLabel, String negativeLabel, double minAuc) {
        return new JsonObject()
                .put("name", name)
                .put("description", description)
                .put("inputs", new JsonArray().add(new JsonObject().put("name", "features").put("datatype", "FP32")
                        .put("shape", new JsonArray().add(-1).add(contract.width()))))
                .put("outputs", new JsonArray().add(new JsonObject().put("name", "score").put("datatype", "FP32")
                        .put("shape", new JsonArray().add(-1).add(1))))
                .put("max_batch_rows", 256)
                .put("oversize", "split")
                .put("latency_budget_ms", latencyBudgetMs)
                .put("batching", new JsonObject().put("policy", "adaptive"))
                .put("feature_contract", contractJson.copy())
                .put("label", new JsonObject().put("threshold", 0.5).put("positive", positiveLabel).put("negative", negativeLabel))
                .put("acceptance", new JsonObject().put("min_auc", minAuc).put("max_abs_score_diff", 1e-5));
    }
}
