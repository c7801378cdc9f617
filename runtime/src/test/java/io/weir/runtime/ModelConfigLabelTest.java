package io.weir.runtime;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

/** A label is decided on the FP32 score the answer shows, against the threshold as written. */
class ModelConfigLabelTest {
    @ParameterizedTest
    @ValueSource(doubles = {0.5, 0.7, 0.1, 0.9, 0.33})
    void aScoreEqualToTheThresholdAsAnAnswerShowsItIsPositive(double threshold) {
        ModelConfig.Label label = new ModelConfig.Label(threshold, "toxic", "ok");
        float shown = (float) threshold; // what the answer writes as the score: "0.7"
        assertThat(label.of(shown)).isEqualTo("toxic");
        assertThat(label.of(Math.nextDown(shown))).isEqualTo("ok");
        assertThat(label.of(Math.nextUp(shown))).isEqualTo("toxic");
    }
}
