package io.weir.runtime.demo;

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
}
