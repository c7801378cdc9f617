package io.weir.router.internal;

import io.vertx.core.json.JsonObject;
import io.weir.router.RolloutConfig;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class GatesTest {
    private static final RolloutConfig SHADOWED = RolloutConfig.fromJson("moderation", new JsonObject()
            .put("primary", "1.0.0").put("canary", "1.1.0").put("shadow", "1.1.0").put("shadow_sample_rate", 1.0));
    private static final WindowStats.ArmSnapshot IDLE = new WindowStats.ArmSnapshot(0, 0, 0, Double.NaN,
            new long[WindowStats.SCORE_BINS]);

    private static WindowStats.Snapshot shadowWindow(long rows, double absDiffSum) {
        return new WindowStats.Snapshot("1.0.0", "1.1.0", "1.1.0", IDLE, IDLE,
                new WindowStats.ShadowSnapshot(rows, 0, rows, absDiffSum, 0, 0));
    }

    @Test
    void aNonFiniteShadowDiffFailsTheMeanAbsDiffGateInsteadOfPassingIt() {
        assertThat(Gates.failures(SHADOWED, shadowWindow(100, 100 * 0.5), Double.NaN))
                .singleElement().asString().contains("shadow mean |score diff| 0.5000 above 0.0500");
        assertThat(Gates.failures(SHADOWED, shadowWindow(101, 100 * 0.5 + Double.NaN), Double.NaN))
                .singleElement().asString().contains("shadow mean |score diff| NaN above 0.0500");
        assertThat(Gates.failures(SHADOWED, shadowWindow(100, 100 * 0.01), Double.NaN)).isEmpty();
    }

    private static final RolloutConfig CANARY = RolloutConfig.fromJson("moderation", new JsonObject()
            .put("primary", "1.0.0").put("canary", "1.1.0"));

    /** An arm of {@code rows} one-row requests whose scores lean to 0 as moderation's do, shifted by {@code shift}. */
    private static WindowStats.ArmSnapshot scoredArm(java.util.Random random, int rows, double shift) {
        long[] bins = new long[WindowStats.SCORE_BINS];
        for (int i = 0; i < rows; i++) {
            double score = Math.min(0.999, Math.pow(random.nextDouble(), 3) + shift);
            bins[(int) (score * WindowStats.SCORE_BINS)]++;
        }
        return new WindowStats.ArmSnapshot(rows, 0, 0, Double.NaN, bins);
    }

    private static java.util.List<String> drift(long seed, int rows, double shift) {
        java.util.Random random = new java.util.Random(seed);
        WindowStats.Snapshot w = new WindowStats.Snapshot("1.0.0", "1.1.0", null, scoredArm(random, rows, 0),
                scoredArm(random, rows, shift), new WindowStats.ShadowSnapshot(0, 0, 0, 0, 0, 0));
        return Gates.failures(CANARY, w, Double.NaN).stream().filter(f -> f.contains("PSI")).toList();
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
    void scoreDriftIsJudgedOnSamplesLargeEnoughThatChanceStaysUnderTheThreshold(long seed) {
        assertThat(Gates.psiMinRows(0.25)).isEqualTo(216);
        // Past min_window_requests (50), below the drift's own minimum: a healthy canary is not judged on noise.
        assertThat(drift(seed, 60, 0)).isEmpty();
        assertThat(drift(seed, 3000, 0)).isEmpty();
        assertThat(drift(seed, 3000, 0.15)).singleElement().asString().contains("canary score drift PSI");
    }
}
