package io.weir.perf.gatling;

import org.junit.jupiter.api.Test;

import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

/** The sweep's server-side percentiles, read from the gateway's request-timer buckets as Prometheus reads them. */
class ServerHistogramTest {

    /** Cumulative counts at the gateway's own bucket bounds around 80 ms (seconds), as /metrics prints them. */
    private static TreeMap<Double, Double> buckets(double... boundAndCount) {
        TreeMap<Double, Double> h = new TreeMap<>();
        for (int i = 0; i < boundAndCount.length; i += 2) {
            h.put(boundAndCount[i], boundAndCount[i + 1]);
        }
        return h;
    }

    @Test
    void aQuantileIsInterpolatedInsideTheBucketThatHoldsItsRank() {
        // 1000 answers: 900 at or below 16.8 ms, 960 at or below 22.4, 990 at or below 67.1, all by 89.5 ms. The 95th
        // (rank 950) is 50 of the 60 answers into the bucket (16.8, 22.4] ms.
        TreeMap<Double, Double> h = buckets(0.016777216, 900, 0.022369621, 960, 0.067108864, 990, 0.089478485, 1000,
                Double.POSITIVE_INFINITY, 1000);
        assertThat(PolicySweepSimulation.histogramQuantile(h, 0.95))
                .isCloseTo(0.016777216 + (0.022369621 - 0.016777216) * 50 / 60, offset(1e-12));
        // The 99th (rank 990) is exactly the count at 67.1 ms: the bucket's upper bound.
        assertThat(PolicySweepSimulation.histogramQuantile(h, 0.99)).isCloseTo(0.067108864, offset(1e-12));
        // The first bucket interpolates from zero.
        assertThat(PolicySweepSimulation.histogramQuantile(h, 0.45)).isCloseTo(0.016777216 / 2, offset(1e-12));
    }

    @Test
    void aRankPastTheLastFiniteBoundReadsThatBoundAndNoAnswersReadNothing() {
        TreeMap<Double, Double> h = buckets(0.08, 90, 10.0, 95, Double.POSITIVE_INFINITY, 100);
        assertThat(PolicySweepSimulation.histogramQuantile(h, 0.99)).isEqualTo(10.0);
        assertThat(PolicySweepSimulation.histogramQuantile(buckets(0.08, 0, Double.POSITIVE_INFINITY, 0), 0.95)).isNaN();
        assertThat(PolicySweepSimulation.histogramQuantile(buckets(0.08, 5), 0.95))
                .as("without the +Inf bucket the total is not known").isNaN();
    }
}
