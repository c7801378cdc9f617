package io.weir.runtime.demo;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.features.FeatureContract;

import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

/**
 * The {@code ranker} demo: scores each candidate of a {@code /v1/rank:score} request for a user in a context.
 *
 * <p>Ground truth. A hidden world, fixed by {@link #WORLD_SEED}, gives each of the 32 user segments (the user id's
 * bucket, the same hash the feature contract uses) a taste vector and a price sensitivity, each of 16 categories a
 * latent vector, a typical price and an hour of the day when it is most wanted, and each (locale, category) pair a
 * small bias. A candidate's relevance logit is
 * <pre>
 *   0.6 · taste[segment] · latent[category]                       (who likes what)
 * − sensitivity[segment] · (log1p(price) − typical[category]) / 0.6 (cheap for its category is better)
 * + 0.9 · cos(2π · (utcHour − peak[category]) / 24)               (evening toys, morning news ...)
 * + bias[locale][category] − 1
 * </pre>
 * and its label is drawn from Bernoulli(sigmoid(logit)). Every term is an interaction the features expose only
 * through a hidden layer, and the Bernoulli draw caps any model's AUC (the Bayes AUC is recorded in the golden
 * summary), so the task is learnable but not trivially.
 */
final class RankerDemo implements ScoringDemo {
    static final String NAME = "ranker";
    static final String CONTRACT_VERSION = "ranker-features-1";
    static final long WORLD_SEED = 0x5EED_0000_0001L;
    private static final long GOLDEN_SEED = 0x60_1DE0_0001L;
    private static final long PRICE_STATS_SEED = 0x5EED_0000_0002L;

    private static final String[] LOCALES = {"en-US", "de-DE", "fr-FR", "es-ES", "ja-JP", "pt-BR", "it-IT", "nl-NL"};
    /** Chosen to fill the 16 category buckets one each (checked on construction); the 8 locales share 7 buckets. */
    private static final String[] CATEGORIES = {"books", "electronics", "toys", "grocery", "fashion", "sports", "beauty",
            "home", "automotive", "health", "kitchen", "baby", "crafts", "camera", "luggage", "tea"};
    private static final String[] OFFSETS = {"Z", "Z", "Z", "+01:00", "-05:00", "+09:00", "+05:30", "-08:00"};
    private static final int USERS = 5000;
    private static final int USER_BUCKETS = 32;
    private static final int CATEGORY_BUCKETS = 16;
    private static final int LATENT = 4;
    private static final double MISSING_LOCALE = 0.05;
    private static final DateTimeFormatter TS = DateTimeFormatter.ISO_OFFSET_DATE_TIME;

    private final double[][] taste = new double[USER_BUCKETS][LATENT];
    private final double[] sensitivity = new double[USER_BUCKETS];
    private final double[][] latent = new double[CATEGORIES.length][LATENT];
    private final double[] typicalLogPrice = new double[CATEGORIES.length];
    private final double[] peakHour = new double[CATEGORIES.length];
    private final double[][] localeBias = new double[LOCALES.length][CATEGORIES.length];
    private final JsonObject contractJson;
    private final FeatureContract contract;

    RankerDemo() {
        if (java.util.Arrays.stream(CATEGORIES).map(c -> FeatureContract.bucket("category", c, CATEGORY_BUCKETS)).distinct().count()
                != CATEGORIES.length) {
            throw new IllegalStateException("demo categories must hash to distinct buckets");
        }
        DemoRandom world = new DemoRandom(WORLD_SEED);
        for (int b = 0; b < USER_BUCKETS; b++) {
            for (int k = 0; k < LATENT; k++) {
                taste[b][k] = world.nextGaussian();
            }
            sensitivity[b] = world.uniform(0.3, 1.5);
        }
        for (int c = 0; c < CATEGORIES.length; c++) {
            for (int k = 0; k < LATENT; k++) {
                latent[c][k] = world.nextGaussian();
            }
            typicalLogPrice[c] = world.uniform(1.5, 5.5);
            peakHour[c] = world.uniform(0, 24);
        }
        for (int l = 0; l < LOCALES.length; l++) {
            for (int c = 0; c < CATEGORIES.length; c++) {
                localeBias[l][c] = 0.5 * world.nextGaussian();
            }
        }
        // Normalisation constants of the price feature, measured on prices drawn the way requests draw them and
        // rounded so that the contract reads like one written by hand.
        DemoRandom prices = new DemoRandom(PRICE_STATS_SEED);
        int n = 20_000;
        double sum = 0;
        double sumSq = 0;
        for (int i = 0; i < n; i++) {
            double v = StrictMath.log1p(price(prices, prices.nextInt(CATEGORIES.length)));
            sum += v;
            sumSq += v * v;
        }
        double mean = sum / n;
        double std = StrictMath.sqrt(sumSq / n - mean * mean);
        contractJson = new JsonObject()
                .put("version", CONTRACT_VERSION)
                .put("api", "rank")
                .put("input", "features")
                .put("output", "score")
                .put("fields", new JsonArray()
                        .add(new JsonObject().put("name", "user").put("path", "request.user_id").put("type", "categorical").put("buckets", USER_BUCKETS))
                        .add(new JsonObject().put("name", "locale").put("path", "request.context.locale").put("type", "categorical").put("buckets", 8))
                        .add(new JsonObject().put("name", "hour").put("path", "request.context.ts").put("type", "hour_of_day"))
                        .add(new JsonObject().put("name", "price").put("path", "candidate.features.price").put("type", "numeric")
                                .put("scale", "log1p").put("mean", round3(mean)).put("std", round3(std)).put("required", true))
                        .add(new JsonObject().put("name", "category").put("path", "candidate.features.category").put("type", "categorical")
                                .put("buckets", CATEGORY_BUCKETS).put("required", true)));
        contract = FeatureContract.parse(contractJson);
    }

    private static double round3(double v) {
        return StrictMath.rint(v * 1000) / 1000;
    }

    private double price(DemoRandom rng, int category) {
        double p = StrictMath.exp(typicalLogPrice[category] + 0.6 * rng.nextGaussian());
        return Math.max(0.99, StrictMath.rint(p * 100) / 100);
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
        return List.of(
                new VersionPlan("1.0.0", 1_000L, 16, Mlp.Activation.RELU, 2_000, new Mlp.Training(6, 64, 0.005, 1e-5)),
                new VersionPlan("1.1.0", 1_100L, 32, Mlp.Activation.RELU, 4_000, new Mlp.Training(10, 64, 0.005, 1e-5)));
    }

    @Override
    public long goldenSeed() {
        return GOLDEN_SEED;
    }

    @Override
    public LabelledRequest sample(DemoRandom rng, String requestId) {
        String userId = String.format(Locale.ROOT, "u-%05d", rng.nextInt(USERS));
        int segment = FeatureContract.bucket("user", userId, USER_BUCKETS);
        int locale = rng.nextInt(LOCALES.length);
        boolean hasLocale = !rng.bernoulli(MISSING_LOCALE);
        OffsetDateTime utc = OffsetDateTime.of(2025, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC)
                .plusDays(rng.nextInt(365)).plusMinutes(rng.nextInt(24 * 60));
        String ts = utc.withOffsetSameInstant(ZoneOffset.of(rng.pick(OFFSETS))).format(TS);
        double utcHour = utc.getHour() + utc.getMinute() / 60.0;

        JsonObject context = new JsonObject();
        if (hasLocale) {
            context.put("locale", LOCALES[locale]);
        }
        context.put("ts", ts);
        // 1 to 50 candidates, most requests short: the spread a ranking page sees.
        int count = 1 + (int) (49 * StrictMath.pow(rng.nextDouble(), 4));
        JsonArray candidates = new JsonArray();
        int[] truth = new int[count];
        double[] probability = new double[count];
        for (int i = 0; i < count; i++) {
            int category = rng.nextInt(CATEGORIES.length);
            double price = price(rng, category);
            candidates.add(new JsonObject()
                    .put("item_id", String.format(Locale.ROOT, "i-%05d", rng.nextInt(100_000)))
                    .put("features", new JsonObject().put("price", price).put("category", CATEGORIES[category])));
            double affinity = 0;
            for (int k = 0; k < LATENT; k++) {
                affinity += taste[segment][k] * latent[category][k];
            }
            double logit = 0.6 * affinity
                    - sensitivity[segment] * (StrictMath.log1p(price) - typicalLogPrice[category]) / 0.6
                    + 0.9 * StrictMath.cos(2 * StrictMath.PI * (utcHour - peakHour[category]) / 24)
                    + (hasLocale ? localeBias[locale][category] : 0)
                    - 1.0;
            probability[i] = Mlp.sigmoid(logit);
            truth[i] = rng.bernoulli(probability[i]) ? 1 : 0;
        }
        JsonObject request = new JsonObject()
                .put("user_id", userId)
                .put("context", context)
                .put("candidates", candidates)
                .put("request_id", requestId);
        return new LabelledRequest(request, truth, probability);
    }

    @Override
    public JsonObject expected(JsonObject request, float[] scores, ModelConfig config) {
        JsonArray candidates = request.getJsonArray("candidates");
        JsonArray out = new JsonArray();
        for (int i = 0; i < scores.length; i++) {
            out.add(new JsonObject().put("item_id", candidates.getJsonObject(i).getString("item_id")).put("score", scores[i]));
        }
        return new JsonObject().put("scores", out);
    }

    @Override
    public JsonObject config(double minAuc) {
        return ScoringDemo.config(NAME, "Demo ranker: MLP over user segment, locale, hour of day, price and category of each "
                        + "candidate; trained on a synthetic world by io.weir.runtime.demo.DemoRepositoryWriter.",
                contract, contractJson, 120, "relevant", "not_relevant", minAuc);
    }

    /** Three points under the weakest version's golden AUC, rounded down to a hundredth. */
    @Override
    public double minAuc(double lowestMeasuredAuc) {
        return StrictMath.floor((lowestMeasuredAuc - 0.03) * 100) / 100;
    }
}
