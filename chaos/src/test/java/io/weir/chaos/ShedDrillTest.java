package io.weir.chaos;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ShedDrillTest {

    @Test
    void shedsNothingUntilSetAndEverythingAtOne() {
        ShedDrill drill = new ShedDrill();
        for (int i = 0; i < 1000; i++) {
            assertThat(drill.shedNext()).isFalse();
        }
        drill.set(1);
        for (int i = 0; i < 1000; i++) {
            assertThat(drill.shedNext()).isTrue();
        }
        drill.set(0);
        assertThat(drill.shedNext()).isFalse();
    }

    @Test
    void shedsAboutTheShareSet() {
        ShedDrill drill = new ShedDrill();
        drill.set(0.25);
        int shed = 0;
        int n = 40_000;
        for (int i = 0; i < n; i++) {
            shed += drill.shedNext() ? 1 : 0;
        }
        // 0.25 of 40000 is 10000 with a standard deviation of about 87: 600 is nearly seven of them.
        assertThat(shed).isBetween(9_400, 10_600);
    }

    @ParameterizedTest
    @ValueSource(doubles = {-0.1, 1.5, Double.NaN})
    void refusesAShareOutsideZeroToOne(double fraction) {
        ShedDrill drill = new ShedDrill();
        drill.set(0.5);
        assertThatThrownBy(() -> drill.set(fraction)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("between 0 and 1");
        assertThat(drill.fraction()).isEqualTo(0.5);
    }
}
