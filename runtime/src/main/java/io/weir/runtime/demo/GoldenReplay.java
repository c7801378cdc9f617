package io.weir.runtime.demo;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.InferenceException;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.features.FeatureContract;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * Replays a version's {@code golden.jsonl} against a loaded executable and measures how far it strays: the largest
 * score difference from the recorded expectation, mismatching labels or non-float outputs, and the AUC of its scores
 * against the recorded ground truth. Models with a feature contract are fed through {@link FeatureContract#encode}
 * (the gateway's own encoding), the others through the v2 tensors the golden line carries.
 *
 * <p>Whether the result is acceptable is the caller's call: compare {@link Result#maxAbsDiff()} and
 * {@link Result#auc()} with the config's {@link ModelConfig.Acceptance}, or use {@link Result#meets}.
 */
public final class GoldenReplay {
    private GoldenReplay() {
    }

    /**
     * @param requests   golden lines replayed
     * @param rows       rows scored (candidates for rank, one per text for moderate, tensor rows otherwise)
     * @param maxAbsDiff largest |actual - expected| over every score or FP32 output element
     * @param mismatches labels, item ids, INT64 or BYTES elements that differ, and outputs of the wrong shape
     * @param auc        AUC of the scores against the recorded truth; empty when the set records none
     * @param meanScore  mean score over all rows (NaN without a feature contract)
     */
    public record Result(int requests, int rows, double maxAbsDiff, int mismatches, OptionalDouble auc, double meanScore) {

        /** True when every output is within the config's tolerance and the AUC (if any) reaches its floor. */
        public boolean meets(ModelConfig.Acceptance acceptance) {
            return mismatches == 0 && maxAbsDiff <= acceptance.maxAbsScoreDiff()
                    && (auc.isEmpty() || auc.getAsDouble() >= acceptance.minAuc());
        }
    }

    public static Result replay(ModelConfig config, LoadedModel model, Path goldenJsonl) throws IOException, InferenceException {
        Accumulator acc = new Accumulator();
        try (BufferedReader in = Files.newBufferedReader(goldenJsonl, StandardCharsets.UTF_8)) {
            String line;
            int lineNo = 0;
            while ((line = in.readLine()) != null) {
                lineNo++;
                if (line.isBlank()) {
                    continue;
                }
                JsonObject golden;
                try {
                    golden = new JsonObject(line);
                } catch (RuntimeException e) {
                    throw new IOException(goldenJsonl + ":" + lineNo + ": not a JSON object: " + e.getMessage(), e);
                }
                if (config.featureContract().isPresent()) {
                    replayScored(config, config.featureContract().get(), model, golden, acc);
                } else {
                    replayTensors(config, model, golden, acc);
                }
                acc.requests++;
            }
        }
        return acc.result();
    }

    private static void replayScored(ModelConfig config, FeatureContract contract, LoadedModel model, JsonObject golden,
                                     Accumulator acc) throws InferenceException {
        JsonObject request = golden.getJsonObject("request");
        JsonObject expected = golden.getJsonObject("expected");
        float[] scores = model.run(Map.of(contract.input(), contract.encode(request))).get(contract.output()).floats();
        if (contract.api() == FeatureContract.Api.RANK) {
            JsonArray want = expected.getJsonArray("scores");
            JsonArray candidates = request.getJsonArray("candidates");
            if (want.size() != scores.length) {
                acc.mismatches++;
                return;
            }
            for (int i = 0; i < scores.length; i++) {
                JsonObject w = want.getJsonObject(i);
                if (!w.getString("item_id").equals(candidates.getJsonObject(i).getString("item_id"))) {
                    acc.mismatches++;
                }
                acc.score(scores[i], w.getDouble("score"));
            }
        } else {
            acc.score(scores[0], expected.getDouble("score"));
            String label = expected.getString("label");
            if (label != null && config.label().isPresent() && !config.label().get().of(scores[0]).equals(label)) {
                acc.mismatches++;
            }
        }
        JsonArray truth = golden.getJsonArray("truth");
        if (truth != null) {
            if (truth.size() != scores.length) {
                throw new IllegalArgumentException("golden line records " + truth.size() + " truths for " + scores.length + " rows");
            }
            for (int i = 0; i < scores.length; i++) {
                acc.truth(scores[i], truth.getInteger(i));
            }
        }
    }

    private static void replayTensors(ModelConfig config, LoadedModel model, JsonObject golden, Accumulator acc)
            throws InferenceException {
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        JsonArray in = golden.getJsonObject("request").getJsonArray("inputs");
        for (int i = 0; i < in.size(); i++) {
            inputs.put(in.getJsonObject(i).getString("name"), V2Tensors.fromJson(in.getJsonObject(i)));
        }
        Map<String, Tensor> outputs = model.run(inputs);
        JsonArray want = golden.getJsonObject("expected").getJsonArray("outputs");
        for (int i = 0; i < want.size(); i++) {
            JsonObject w = want.getJsonObject(i);
            Tensor expected = V2Tensors.fromJson(w);
            Tensor actual = outputs.get(w.getString("name"));
            if (actual == null || actual.dataType() != expected.dataType() || !Arrays.equals(actual.shape(), expected.shape())) {
                acc.mismatches++;
                continue;
            }
            switch (actual.dataType()) {
                case FP32 -> {
                    float[] a = actual.floats();
                    float[] e = expected.floats();
                    for (int k = 0; k < a.length; k++) {
                        // Bit equality first: an identity must keep -0.0, and NaN never equals itself.
                        if (Float.floatToRawIntBits(a[k]) != Float.floatToRawIntBits(e[k])) {
                            acc.maxAbsDiff = Math.max(acc.maxAbsDiff, Float.isNaN(a[k] - e[k]) ? Double.POSITIVE_INFINITY
                                    : Math.max(Math.abs((double) a[k] - e[k]), Double.MIN_VALUE));
                        }
                    }
                }
                case INT64 -> {
                    long[] a = actual.longs();
                    long[] e = expected.longs();
                    for (int k = 0; k < a.length; k++) {
                        if (a[k] != e[k]) {
                            acc.mismatches++;
                        }
                    }
                }
                case BYTES -> {
                    byte[][] a = actual.bytes();
                    byte[][] e = expected.bytes();
                    for (int k = 0; k < a.length; k++) {
                        if (!Arrays.equals(a[k], e[k])) {
                            acc.mismatches++;
                        }
                    }
                }
            }
        }
        acc.rows += inputs.values().iterator().next().rows();
        for (TensorSpec spec : config.outputs()) {
            if (!outputs.containsKey(spec.name())) {
                acc.mismatches++;
            }
        }
    }

    private static final class Accumulator {
        int requests;
        int rows;
        double maxAbsDiff;
        int mismatches;
        double scoreSum;
        int scored;
        double[] truthScores = new double[1024];
        int[] truthLabels = new int[1024];
        int truths;

        void score(float actual, double expected) {
            rows++;
            scored++;
            scoreSum += actual;
            maxAbsDiff = Math.max(maxAbsDiff, Math.abs(actual - expected));
        }

        void truth(float score, int label) {
            if (truths == truthScores.length) {
                truthScores = Arrays.copyOf(truthScores, truths * 2);
                truthLabels = Arrays.copyOf(truthLabels, truths * 2);
            }
            truthScores[truths] = score;
            truthLabels[truths] = label;
            truths++;
        }

        Result result() {
            OptionalDouble auc = truths == 0 ? OptionalDouble.empty()
                    : OptionalDouble.of(Auc.of(Arrays.copyOf(truthScores, truths), Arrays.copyOf(truthLabels, truths)));
            return new Result(requests, rows, maxAbsDiff, mismatches, auc, scored == 0 ? Double.NaN : scoreSum / scored);
        }
    }
}
