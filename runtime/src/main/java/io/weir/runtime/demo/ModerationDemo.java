package io.weir.runtime.demo;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.features.FeatureContract;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The {@code moderation} demo: scores the text of a {@code /v1/moderate} request for toxicity.
 *
 * <p>Ground truth. A synthetic language, fixed by {@link #WORLD_SEED}, has 500 benign word stems and 40 toxic ones
 * built from the same syllables, plus a "decoy" twin of every toxic stem that differs in one vowel (so one n-gram
 * is never enough). A text of at most 300 characters is benign words with suffixes, capitals and punctuation; a
 * toxic text (45%) also holds one to three inflected toxic words, a benign one sometimes holds decoys. Its label
 * is the writer's intent, flipped with probability 3% (annotator noise), which caps the AUC any model can reach near
 * 0.97. The model only sees hashed, L2-normalised character 2..4-grams, so a toxic word in a long text is a faint
 * signal among hundreds of n-grams.
 */
final class ModerationDemo implements ScoringDemo {
    static final String NAME = "moderation";
    static final String CONTRACT_VERSION = "moderation-features-1";
    static final long WORLD_SEED = 0x5EED_0000_0010L;
    static final int MAX_TEXT = 300;
    static final int BUCKETS = 1024;
    /** The seed contract's golden acceptance for moderation. */
    static final double MIN_AUC = 0.92;
    private static final long GOLDEN_SEED = 0x60_1DE0_0010L;
    private static final double TOXIC_SHARE = 0.45;
    private static final double LABEL_NOISE = 0.03;

    private static final String[] ONSETS = {"b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z",
            "sh", "ch", "gr", "pl", "st", "tr"};
    private static final String[] VOWELS = {"a", "e", "i", "o", "u", "ai", "ou"};
    private static final String[] CODAS = {"", "", "n", "r", "k", "s", "t"};
    private static final String[] SUFFIXES = {"", "", "", "s", "ed", "ing", "er", "ly"};

    private final String[] benign;
    private final String[] toxic;
    private final String[] decoys;
    private final JsonObject contractJson;
    private final FeatureContract contract;

    ModerationDemo() {
        DemoRandom world = new DemoRandom(WORLD_SEED);
        Set<String> toxicStems = new LinkedHashSet<>();
        while (toxicStems.size() < 24) {
            toxicStems.add(syllable(world) + syllable(world));
        }
        Set<String> benignStems = new LinkedHashSet<>();
        while (benignStems.size() < 300) {
            String w = syllable(world);
            int more = world.nextInt(3);
            for (int i = 0; i < more; i++) {
                w += syllable(world);
            }
            if (!toxicStems.contains(w)) {
                benignStems.add(w);
            }
        }
        List<String> decoyStems = new ArrayList<>();
        for (String t : toxicStems) {
            String d = t;
            while (d.equals(t) || toxicStems.contains(d)) {
                d = swapOneVowel(t, world);
            }
            decoyStems.add(d);
        }
        toxic = toxicStems.toArray(String[]::new);
        benign = benignStems.toArray(String[]::new);
        decoys = decoyStems.toArray(String[]::new);
        contractJson = new JsonObject()
                .put("version", CONTRACT_VERSION)
                .put("api", "moderate")
                .put("input", "features")
                .put("output", "score")
                .put("fields", new JsonArray().add(new JsonObject().put("name", "text").put("path", "request.text")
                        .put("type", "text_ngrams").put("buckets", BUCKETS).put("n_min", 2).put("n_max", 4).put("required", true)));
        contract = FeatureContract.parse(contractJson);
    }

    private static String syllable(DemoRandom rng) {
        return rng.pick(ONSETS) + rng.pick(VOWELS) + rng.pick(CODAS);
    }

    private static String swapOneVowel(String word, DemoRandom rng) {
        List<Integer> at = new ArrayList<>();
        for (int i = 0; i < word.length(); i++) {
            if ("aeiou".indexOf(word.charAt(i)) >= 0) {
                at.add(i);
            }
        }
        int i = at.get(rng.nextInt(at.size()));
        char v = "aeiou".charAt(rng.nextInt(5));
        return word.substring(0, i) + v + word.substring(i + 1);
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public FeatureContract contract() {
        return contract;
    }

    @Override
    public List<VersionPlan> versions() {
        return List.of(new VersionPlan("1.0.0", 2_000L, 16, Mlp.Activation.TANH, 12_000, new Mlp.Training(8, 32, 0.005, 1e-5)));
    }

    @Override
    public long goldenSeed() {
        return GOLDEN_SEED;
    }

    @Override
    public LabelledRequest sample(DemoRandom rng, String requestId) {
        boolean toxicIntent = rng.bernoulli(TOXIC_SHARE);
        List<String> special = new ArrayList<>();
        if (toxicIntent) {
            int k = 1 + (rng.bernoulli(0.5) ? 1 : 0) + (rng.bernoulli(0.2) ? 1 : 0);
            for (int i = 0; i < k; i++) {
                special.add(rng.pick(toxic) + rng.pick(SUFFIXES));
            }
        }
        if (rng.bernoulli(0.12)) {
            int k = 1 + (rng.bernoulli(0.3) ? 1 : 0);
            for (int i = 0; i < k; i++) {
                special.add(rng.pick(decoys) + rng.pick(SUFFIXES));
            }
        }
        int target = 15 + (int) ((MAX_TEXT - 15) * StrictMath.pow(rng.nextDouble(), 1.5));
        List<String> words = new ArrayList<>();
        int length = 0;
        for (String s : special) {
            length += s.length() + 2;
        }
        while (true) {
            String w = rng.pick(benign) + rng.pick(SUFFIXES);
            if (length + w.length() + 2 > target && !words.isEmpty()) {
                break;
            }
            words.add(w);
            length += w.length() + 2;
        }
        for (String s : special) {
            words.add(rng.nextInt(words.size() + 1), s);
        }
        String text = punctuate(words, rng);
        while (text.length() > MAX_TEXT) {
            // Only benign filler is dropped: the truth depends on the special words staying.
            for (int i = words.size() - 1; i >= 0; i--) {
                if (!special.contains(words.get(i))) {
                    words.remove(i);
                    break;
                }
            }
            text = punctuate(words, rng);
        }
        boolean label = toxicIntent != rng.bernoulli(LABEL_NOISE);
        JsonObject request = new JsonObject().put("text", text).put("request_id", requestId);
        return new LabelledRequest(request, new int[] {label ? 1 : 0},
                new double[] {toxicIntent ? 1 - LABEL_NOISE : LABEL_NOISE});
    }

    /** Sentences of words with capitals, commas and end marks; every word costs at most its length + 2. */
    private static String punctuate(List<String> words, DemoRandom rng) {
        StringBuilder sb = new StringBuilder();
        boolean sentenceStart = true;
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            double style = rng.nextDouble();
            if (style < 0.03) {
                w = w.toUpperCase(Locale.ROOT);
            } else if (sentenceStart || style < 0.10) {
                w = Character.toUpperCase(w.charAt(0)) + w.substring(1);
            }
            if (i > 0) {
                sb.append(' ');
            }
            sb.append(w);
            boolean last = i == words.size() - 1;
            double p = rng.nextDouble();
            if (last || p < 0.12) {
                sb.append(p < 0.03 ? '!' : p < 0.05 ? '?' : '.');
                sentenceStart = true;
            } else {
                if (p < 0.2) {
                    sb.append(',');
                }
                sentenceStart = false;
            }
        }
        return sb.toString();
    }

    @Override
    public JsonObject expected(JsonObject request, float[] scores, ModelConfig config) {
        return new JsonObject().put("score", scores[0]).put("label", config.label().orElseThrow().of(scores[0]));
    }

    @Override
    public JsonObject config(double minAuc) {
        return ScoringDemo.config(NAME, "Demo moderation: hashed character 2..4-grams of the text through a small tanh MLP; "
                        + "trained on a synthetic language by io.weir.runtime.demo.DemoRepositoryWriter.",
                contract, contractJson, 80, "toxic", "ok", minAuc);
    }

    /** The seed contract's floor, whatever was measured: the writer refuses to write a model below it. */
    @Override
    public double minAuc(double lowestMeasuredAuc) {
        return MIN_AUC;
    }
}
