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
}
