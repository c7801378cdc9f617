package io.weir.runtime.demo;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class AucTest {

    @Test
    void handComputedCaseWithTies() {
        // Positives score 0.35, 0.8, 0.4; negatives 0.1, 0.4, 0.4. Pairs won by the positive:
        // 0.35 beats 0.1 only (1); 0.8 beats all three (3); 0.4 beats 0.1 and ties both 0.4s (1 + 0.5 + 0.5 = 2).
        // 6 of 9 pairs: AUC = 2/3.
        double[] scores = {0.1, 0.4, 0.35, 0.8, 0.4, 0.4};
        int[] labels = {0, 0, 1, 1, 1, 0};
        assertThat(Auc.of(scores, labels)).isCloseTo(2.0 / 3.0, within(1e-15));
    }

    @Test
    void boundaryCases() {
        assertThat(Auc.of(new double[] {0.1, 0.2, 0.9, 0.8}, new int[] {0, 0, 1, 1})).isEqualTo(1.0);
        assertThat(Auc.of(new double[] {0.9, 0.8, 0.1, 0.2}, new int[] {0, 0, 1, 1})).isEqualTo(0.0);
        assertThat(Auc.of(new double[] {0.5, 0.5, 0.5, 0.5, 0.5}, new int[] {0, 1, 1, 0, 1})).isEqualTo(0.5);
        // -0.0 and 0.0 are the same score: a tie, not an ordering.
        assertThat(Auc.of(new double[] {-0.0, 0.0}, new int[] {1, 0})).isEqualTo(0.5);
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3, 42, 1234})
    void agreesWithCountingEveryPairOnTieHeavyData(long seed) {
        DemoRandom rng = new DemoRandom(seed);
        int n = 300;
        double[] scores = new double[n];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = rng.bernoulli(0.3) ? 1 : 0;
            scores[i] = rng.nextInt(12) / 10.0 + labels[i] * 0.2; // few distinct values: many ties
        }
        labels[0] = 0;
        labels[1] = 1;
        double wins = 0;
        long pairs = 0;
        for (int p = 0; p < n; p++) {
            for (int q = 0; q < n; q++) {
                if (labels[p] == 1 && labels[q] == 0) {
                    pairs++;
                    wins += scores[p] > scores[q] ? 1 : scores[p] == scores[q] ? 0.5 : 0;
                }
            }
        }
        assertThat(Auc.of(scores, labels)).isCloseTo(wins / pairs, within(1e-12));
    }

    @Test
    void rejectsWhatHasNoAuc() {
        assertThatThrownBy(() -> Auc.of(new double[] {0.1, 0.2}, new int[] {1, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("both classes");
        assertThatThrownBy(() -> Auc.of(new double[] {0.1}, new int[] {1, 0}))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Auc.of(new double[] {0.1, 0.2}, new int[] {1, 2}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not 0 or 1");
        assertThatThrownBy(() -> Auc.of(new double[] {Double.NaN, 0.2}, new int[] {1, 0}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
    }
}
