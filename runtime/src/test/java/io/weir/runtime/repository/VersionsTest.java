package io.weir.runtime.repository;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class VersionsTest {
    /** The order as first written (split into strings), kept here as the reference the scanning order must match. */
    private static final Comparator<String> BY_SPLITTING = (a, b) -> {
        String[] pa = a.split("-", 2);
        String[] pb = b.split("-", 2);
        String[] na = pa[0].split("\\.");
        String[] nb = pb[0].split("\\.");
        for (int i = 0; i < 3; i++) {
            int c = Long.compare(Long.parseLong(na[i]), Long.parseLong(nb[i]));
            if (c != 0) {
                return c;
            }
        }
        if (pa.length != pb.length) {
            return pa.length == 1 ? 1 : -1;
        }
        return pa.length == 1 ? 0 : pa[1].compareTo(pb[1]);
    };

    @Test
    void numericPartsOrderNumericallyAndAPreReleaseBeforeItsRelease() {
        List<String> sorted = new ArrayList<>(List.of("1.10.0", "1.2.0", "1.2.0-rc.1", "0.9.12", "1.2.0-beta", "2.0.0", "1.2.1"));
        sorted.sort(Versions.ORDER);
        assertThat(sorted).containsExactly("0.9.12", "1.2.0-beta", "1.2.0-rc.1", "1.2.0", "1.2.1", "1.10.0", "2.0.0");
        assertThat(Versions.ORDER.compare("1.0.0", "1.0.0")).isZero();
        assertThat(Versions.ORDER.compare("01.0.0", "1.0.0")).isZero();
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    void theScanningOrderIsTheSplittingOrder(long seed) {
        Random random = new Random(seed);
        String[] pre = {"", "-rc.1", "-rc.2", "-beta", "-alpha-2", "-rc.10", "-a", "-A", "-0"};
        for (int i = 0; i < 50_000; i++) {
            String a = random.nextInt(3) + "." + random.nextInt(12) + "." + random.nextInt(12) + pre[random.nextInt(pre.length)];
            String b = random.nextInt(3) + "." + random.nextInt(12) + "." + random.nextInt(12) + pre[random.nextInt(pre.length)];
            assertThat(Integer.signum(Versions.ORDER.compare(a, b))).as("%s vs %s", a, b)
                    .isEqualTo(Integer.signum(BY_SPLITTING.compare(a, b)));
        }
    }

    @Test
    void numbersTooLongForALongAreNotVersionsSoTheyCannotBreakTheOrder() {
        assertThat(Versions.isVersion("999999999999999999.0.0")).isTrue();
        assertThat(Versions.isVersion("9999999999999999999.0.0")).isFalse();
        assertThat(Versions.isVersion("1.0.99999999999999999999")).isFalse();
        assertThat(Versions.ORDER.compare("999999999999999999.0.0", "2.0.0")).isPositive();
    }
}
