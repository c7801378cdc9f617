package io.weir.router.internal;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.InferenceDispatcher;
import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.batcher.Priority;
import io.weir.router.GoldenCheck;
import io.weir.router.ModelCatalog;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;
import io.weir.runtime.WeirException;
import io.weir.runtime.features.FeatureContract;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The real golden-set gate: replays {@code <repo>/<model>/<version>/golden.jsonl} through the dispatcher and judges
 * the version by the model's {@link ModelConfig.Acceptance}: every score within {@code max_abs_score_diff} of the
 * expected one (and the expected label, when given, reproduced) and, when truth is given, AUC at least
 * {@code min_auc}. Each line:
 *
 * <pre>{@code
 * {"request": {<native request>},
 *  "expected": {"scores": [{"item_id": "a", "score": 0.12}, ...]}   // rank: one per candidate
 *            | {"score": 0.93, "label": "toxic"},                    // moderate
 *  "truth": [0, 1, ...]}                                             // optional, one 0/1 per row
 * }</pre>
 *
 * Rank scores are matched to candidates by {@code item_id} when the candidates carry one, else by position. Features
 * come from the version's {@link FeatureContract}, exactly as live traffic is encoded.
 *
 * <p>Design: each check runs on its own virtual thread, sending one line at a time and waiting for it, so a replay
 * never floods the dispatcher's queue and never blocks the caller.
 */
public final class GoldenSetReplay implements GoldenCheck {
    public static final String FILE = "golden.jsonl";

    private final Path repositoryRoot;
    private final ModelCatalog catalog;
    private final InferenceDispatcher dispatcher;
    private final Duration timeout;

    /** @param timeout deadline of each replayed request */
    public GoldenSetReplay(Path repositoryRoot, ModelCatalog catalog, InferenceDispatcher dispatcher, Duration timeout) {
        this.repositoryRoot = repositoryRoot;
        this.catalog = catalog;
        this.dispatcher = dispatcher;
        this.timeout = timeout;
    }

    @Override
    public CompletionStage<Verdict> check(String model, String version) {
        return CompletableFuture.supplyAsync(() -> replay(new ModelKey(model, version)),
                r -> Thread.ofVirtual().name("weir-golden-" + model + "@" + version).start(r));
    }

    Verdict replay(ModelKey key) {
        ModelConfig config = catalog.config(key).orElse(null);
        if (config == null) {
            return Verdict.fail(key + " is not loaded");
        }
        FeatureContract contract = config.featureContract().orElse(null);
        if (contract == null) {
            return Verdict.fail(key + " has no feature contract, so its golden set cannot be encoded");
        }
        Path file = repositoryRoot.resolve(key.model()).resolve(key.version()).resolve(FILE);
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return Verdict.fail("no readable golden set at " + file + ": " + e.getMessage());
        }
        List<Double> scores = new ArrayList<>();
        List<Integer> truth = new ArrayList<>();
        double worstDiff = 0;
        String worstWhere = null;
        int cases = 0;
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).strip();
            if (line.isEmpty()) {
                continue;
            }
            String where = FILE + ":" + (n + 1);
            try {
                JsonObject c = new JsonObject(line);
                JsonObject request = c.getJsonObject("request");
                JsonObject expected = c.getJsonObject("expected");
                if (request == null || expected == null) {
                    return Verdict.fail(where + ": 'request' and 'expected' are required");
                }
                float[] got = run(key, contract, request);
                double[] want = expectedScores(request, expected, got.length, where);
                for (int i = 0; i < got.length; i++) {
                    double d = Math.abs(got[i] - want[i]);
                    if (d > worstDiff || Double.isNaN(d)) {
                        worstDiff = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                        worstWhere = where + " row " + i;
                    }
                    scores.add((double) got[i]);
                }
                String label = expected.getString("label");
                if (label != null && config.label().isPresent() && !config.label().get().of(got[0]).equals(label)) {
                    return Verdict.fail(where + ": label '" + config.label().get().of(got[0]) + "' for score " + got[0]
                            + ", expected '" + label + "'");
                }
                readTruth(c.getValue("truth"), got.length, where, truth);
                cases++;
            } catch (DecodeException | ClassCastException e) {
                return Verdict.fail(where + ": not a golden case: " + e.getMessage());
            } catch (WeirException e) {
                return Verdict.fail(where + ": " + e.getMessage());
            }
        }
        if (cases == 0) {
            return Verdict.fail("golden set " + file + " is empty");
        }
        ModelConfig.Acceptance acc = config.acceptance();
        if (worstDiff > acc.maxAbsScoreDiff()) {
            return Verdict.fail(String.format(Locale.ROOT, "score differs by %.3g at %s, more than max_abs_score_diff %.3g",
                    worstDiff, worstWhere, acc.maxAbsScoreDiff()));
        }
        String aucText = "";
        if (!truth.isEmpty()) {
            if (truth.size() != scores.size()) {
                return Verdict.fail("truth is given for " + truth.size() + " of " + scores.size() + " rows");
            }
            double auc = auc(scores, truth);
            if (Double.isNaN(auc) && acc.minAuc() > 0) {
                return Verdict.fail("truth holds a single class, so AUC (min_auc " + acc.minAuc() + ") cannot be measured");
            }
            if (auc < acc.minAuc()) {
                return Verdict.fail(String.format(Locale.ROOT, "AUC %.4f below min_auc %.4f", auc, acc.minAuc()));
            }
            aucText = String.format(Locale.ROOT, ", AUC %.4f (min %.4f)", auc, acc.minAuc());
        } else if (acc.minAuc() > 0) {
            return Verdict.fail("min_auc is " + acc.minAuc() + " but the golden set gives no truth");
        }
        return Verdict.pass(String.format(Locale.ROOT, "%d cases, %d rows, max |score diff| %.3g (max %.3g)%s",
                cases, scores.size(), worstDiff, acc.maxAbsScoreDiff(), aucText));
    }

    private float[] run(ModelKey key, FeatureContract contract, JsonObject request) {
        Tensor input = contract.encode(request);
        long now = dispatcher.ticker().nanos();
        InferenceRequest req = new InferenceRequest(key, Map.of(contract.input(), input), input.rows(), now,
                now + timeout.toNanos(), Priority.NORMAL);
        InferenceResult result;
        try {
            result = dispatcher.submit(req).get(timeout.toNanos() + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
        } catch (ExecutionException e) {
            throw new WeirException(Scores.codeOf(e), "replay failed: " + e.getCause().getMessage());
        } catch (TimeoutException e) {
            throw WeirException.deadline("replay got no answer within " + timeout.toMillis() + " ms");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw WeirException.unavailable("replay interrupted");
        }
        Tensor out = result.outputs().get(contract.output());
        if (out == null) {
            throw WeirException.invalid("the model returned no '" + contract.output() + "' output");
        }
        return out.floats();
    }

    private static double[] expectedScores(JsonObject request, JsonObject expected, int rows, String where) {
        double[] want = new double[rows];
        JsonArray list = expected.getJsonArray("scores");
        if (list == null) {
            Number s = (Number) expected.getValue("score");
            if (s == null || rows != 1) {
                throw WeirException.invalid(where + ": expected needs 'scores' (one per candidate) or one 'score'");
            }
            want[0] = s.doubleValue();
            return want;
        }
        if (list.size() != rows) {
            throw WeirException.invalid(where + ": " + list.size() + " expected scores for " + rows + " rows");
        }
        JsonArray candidates = request.getJsonArray("candidates");
        Arrays.fill(want, Double.NaN);
        for (int i = 0; i < rows; i++) {
            JsonObject e = list.getJsonObject(i);
            int row = i;
            Object id = e.getValue("item_id");
            if (id != null && candidates != null) {
                row = -1;
                for (int r = 0; r < candidates.size(); r++) {
                    if (id.equals(candidates.getJsonObject(r).getValue("item_id"))) {
                        row = r;
                        break;
                    }
                }
                if (row < 0) {
                    throw WeirException.invalid(where + ": expected item_id '" + id + "' is not a candidate");
                }
            }
            want[row] = ((Number) e.getValue("score")).doubleValue();
        }
        return want;
    }

    private static void readTruth(Object t, int rows, String where, List<Integer> out) {
        if (t == null) {
            return;
        }
        JsonArray arr = t instanceof JsonArray a ? a : new JsonArray().add(t);
        if (arr.size() != rows) {
            throw WeirException.invalid(where + ": " + arr.size() + " truth values for " + rows + " rows");
        }
        for (int i = 0; i < arr.size(); i++) {
            int v = ((Number) arr.getValue(i)).intValue();
            if (v != 0 && v != 1) {
                throw WeirException.invalid(where + ": truth values must be 0 or 1");
            }
            out.add(v);
        }
    }

    /** ROC AUC as the Mann-Whitney statistic with tied scores sharing their average rank; NaN with one class. */
    static double auc(List<Double> scores, List<Integer> truth) {
        int n = scores.size();
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        Arrays.sort(order, (a, b) -> Double.compare(scores.get(a), scores.get(b)));
        double positiveRankSum = 0;
        long positives = 0;
        int i = 0;
        while (i < n) {
            int j = i;
            while (j + 1 < n && scores.get(order[j + 1]).equals(scores.get(order[i]))) {
                j++;
            }
            double rank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) {
                if (truth.get(order[k]) == 1) {
                    positiveRankSum += rank;
                    positives++;
                }
            }
            i = j + 1;
        }
        long negatives = n - positives;
        if (positives == 0 || negatives == 0) {
            return Double.NaN;
        }
        return (positiveRankSum - positives * (positives + 1) / 2.0) / ((double) positives * negatives);
    }
}
