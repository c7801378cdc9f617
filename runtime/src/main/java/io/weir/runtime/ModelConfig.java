package io.weir.runtime;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.features.FeatureContract;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A model's declared contract, read from {@code <repo>/<model>/config.json}: its tensors, batching limits, latency
 * budget, feature contract, labels and golden-set acceptance thresholds. Example:
 *
 * <pre>{@code
 * { "name": "moderation",
 *   "inputs":  [{"name": "features", "datatype": "FP32", "shape": [-1, 1024]}],
 *   "outputs": [{"name": "score",    "datatype": "FP32", "shape": [-1, 1]}],
 *   "max_batch_rows": 256, "oversize": "split", "latency_budget_ms": 80,
 *   "batching": {"policy": "adaptive"},
 *   "feature_contract": {...}, "label": {"threshold": 0.5, "positive": "toxic", "negative": "ok"},
 *   "acceptance": {"min_auc": 0.92, "max_abs_score_diff": 1e-5} }
 * }</pre>
 */
public record ModelConfig(
        String name,
        List<TensorSpec> inputs,
        List<TensorSpec> outputs,
        int maxBatchRows,
        Oversize oversize,
        double latencyBudgetMs,
        JsonObject batching,
        Optional<FeatureContract> featureContract,
        Optional<Label> label,
        Acceptance acceptance) {

    /** What to do with a request of more rows than {@link #maxBatchRows}. */
    public enum Oversize { SPLIT, REJECT }

    /** The most elements of one input a batch may hold (a Java array's worth with room to spare: 256 MiB of FP32). */
    public static final long MAX_BATCH_ELEMENTS = 64L << 20;
    static final double MIN_BUDGET_MS = 0.001;
    static final double MAX_BUDGET_MS = 86_400_000;

    /** Turns a score into a label. */
    public record Label(double threshold, String positive, String negative) {
        /**
         * The label of an FP32 score, compared in FP32: the score is a float widened to double, so against the
         * threshold 0.7 a score written as 0.7 (0.699999988...) would otherwise fall below it.
         */
        public String of(double score) {
            return (float) score >= (float) threshold ? positive : negative;
        }
    }

    /** Golden-set acceptance thresholds a version must meet before it takes traffic. */
    public record Acceptance(double minAuc, double maxAbsScoreDiff) {
    }

    public ModelConfig {
        inputs = List.copyOf(inputs);
        outputs = List.copyOf(outputs);
        batching = batching.copy();
    }

    public long latencyBudgetNanos() {
        return (long) (latencyBudgetMs * 1_000_000);
    }

    public Optional<TensorSpec> input(String name) {
        return inputs.stream().filter(t -> t.name().equals(name)).findFirst();
    }

    public Optional<TensorSpec> output(String name) {
        return outputs.stream().filter(t -> t.name().equals(name)).findFirst();
    }

    /** Parses and validates a config; the exception message names the offending key. */
    public static ModelConfig parse(JsonObject json) {
        for (String key : json.fieldNames()) {
            // JsonObject's getters hand an explicit null back in place of the default, and unboxing it would fail
            // far from the file; a key left out gets its default, a null one is refused here.
            if (json.getValue(key) == null) {
                throw new IllegalArgumentException("'" + key + "' is null: give a value or leave the key out");
            }
        }
        String name = json.getString("name");
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("'name' is required");
        }
        List<TensorSpec> inputs = specs(json.getJsonArray("inputs"), "inputs");
        List<TensorSpec> outputs = specs(json.getJsonArray("outputs"), "outputs");
        int maxRows = json.getInteger("max_batch_rows", 64);
        if (maxRows < 1) {
            throw new IllegalArgumentException("'max_batch_rows' must be at least 1");
        }
        for (TensorSpec in : inputs) {
            // Warm-up and every batch of the maximum size hold this many elements of the input in one Java array.
            if ((long) maxRows * in.rowWidth() > MAX_BATCH_ELEMENTS) {
                throw new IllegalArgumentException("'max_batch_rows' " + maxRows + " times input '" + in.name() + "''s "
                        + in.rowWidth() + " elements a row exceeds " + MAX_BATCH_ELEMENTS + " elements a batch");
            }
        }
        Oversize oversize = switch (json.getString("oversize", "split")) {
            case "split" -> Oversize.SPLIT;
            case "reject" -> Oversize.REJECT;
            default -> throw new IllegalArgumentException("'oversize' must be 'split' or 'reject'");
        };
        double budget = json.getDouble("latency_budget_ms", 100.0);
        if (!(budget >= MIN_BUDGET_MS && budget <= MAX_BUDGET_MS)) {
            // Deadlines are enqueue + budget in nanoseconds: a budget of years would overflow them, and one under a
            // microsecond would round to nothing.
            throw new IllegalArgumentException("'latency_budget_ms' must be between " + MIN_BUDGET_MS + " and "
                    + (long) MAX_BUDGET_MS + " (a day)");
        }
        JsonObject batching = json.getJsonObject("batching", new JsonObject().put("policy", "adaptive"));
        Optional<FeatureContract> contract = Optional.ofNullable(json.getJsonObject("feature_contract")).map(FeatureContract::parse);
        contract.ifPresent(c -> {
            TensorSpec in = inputs.stream().filter(t -> t.name().equals(c.input())).findFirst().orElseThrow(
                    () -> new IllegalArgumentException("feature_contract.input '" + c.input() + "' is not a declared input"));
            if (in.dataType() != DataType.FP32 || in.shape().length != 2 || in.rowWidth() != c.width()) {
                throw new IllegalArgumentException("feature_contract yields " + c.width() + " FP32 features per row but input '"
                        + in + "' expects " + in.rowWidth());
            }
            TensorSpec out = outputs.stream().filter(t -> t.name().equals(c.output())).findFirst().orElseThrow(
                    () -> new IllegalArgumentException("feature_contract.output '" + c.output() + "' is not a declared output"));
            if (out.dataType() != DataType.FP32 || out.rowWidth() != 1) {
                throw new IllegalArgumentException("feature_contract.output '" + out + "' must be FP32 with one value per row");
            }
        });
        Optional<Label> label = Optional.ofNullable(json.getJsonObject("label")).map(l -> new Label(
                l.getDouble("threshold", 0.5), l.getString("positive", "positive"), l.getString("negative", "negative")));
        JsonObject acc = json.getJsonObject("acceptance", new JsonObject());
        Acceptance acceptance = new Acceptance(acc.getDouble("min_auc", 0.0), acc.getDouble("max_abs_score_diff", 1e-5));
        return new ModelConfig(name, inputs, outputs, maxRows, oversize, budget, batching, contract, label, acceptance);
    }

    private static List<TensorSpec> specs(JsonArray arr, String key) {
        if (arr == null || arr.isEmpty()) {
            throw new IllegalArgumentException("'" + key + "' must declare at least one tensor");
        }
        List<TensorSpec> out = new ArrayList<>();
        for (int i = 0; i < arr.size(); i++) {
            if (!(arr.getValue(i) instanceof JsonObject t)) {
                throw new IllegalArgumentException(key + "[" + i + "] must be an object");
            }
            DataType dt = DataType.fromV2(t.getString("datatype"));
            if (dt == null) {
                throw new IllegalArgumentException(key + "[" + i + "].datatype must be FP32, INT64 or BYTES");
            }
            JsonArray shape = t.getJsonArray("shape");
            if (shape == null) {
                throw new IllegalArgumentException(key + "[" + i + "].shape is required");
            }
            long[] s = new long[shape.size()];
            for (int d = 0; d < s.length; d++) {
                if (!(shape.getValue(d) instanceof Number n) || n.doubleValue() != n.longValue()) {
                    throw new IllegalArgumentException(key + "[" + i + "].shape[" + d + "] must be an integer");
                }
                s[d] = n.longValue();
            }
            out.add(new TensorSpec(t.getString("name"), dt, s));
        }
        return out;
    }
}
