package io.weir.perf.gatling;

import org.junit.jupiter.api.Test;

import java.util.Map;
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
    void aScrapeKeepsTheModelsOkBucketsSummedOverItsSeriesAndNothingOfOtherModelsOrCodes() {
        // Lines as the gateway's /metrics prints them (Micrometer 1.15, Prometheus text): two arms of moderation with
        // code OK, one 429 series, the ranker, batcher series (the queue-wait buckets kept, summed over backends; other
        // batcher buckets dropped) and the loops' connection gauges.
        String body = String.join("\n",
                "# TYPE weir_http_requests_seconds histogram",
                "weir_http_requests_seconds_bucket{arm=\"primary\",code=\"OK\",model=\"moderation\",route=\"moderate\",version=\"1.0.0\",le=\"0.067108864\"} 90",
                "weir_http_requests_seconds_bucket{arm=\"primary\",code=\"OK\",model=\"moderation\",route=\"moderate\",version=\"1.0.0\",le=\"+Inf\"} 100",
                "weir_http_requests_seconds_bucket{arm=\"canary\",code=\"OK\",model=\"moderation\",route=\"moderate\",version=\"1.1.0\",le=\"0.067108864\"} 8",
                "weir_http_requests_seconds_bucket{arm=\"canary\",code=\"OK\",model=\"moderation\",route=\"moderate\",version=\"1.1.0\",le=\"+Inf\"} 10",
                "weir_http_requests_seconds_bucket{arm=\"primary\",code=\"RESOURCE_EXHAUSTED\",model=\"moderation\",route=\"moderate\",version=\"1.0.0\",le=\"+Inf\"} 500",
                "weir_http_requests_seconds_bucket{arm=\"primary\",code=\"OK\",model=\"ranker\",route=\"rank\",version=\"1.0.0\",le=\"+Inf\"} 7000",
                "weir_http_requests_seconds_count{arm=\"primary\",code=\"OK\",model=\"moderation\",route=\"moderate\",version=\"1.0.0\"} 100",
                "weir_batcher_batch_rows_count{backend=\"cpu\",model=\"moderation\",version=\"1.0.0\"} 12",
                "weir_batcher_queue_wait_seconds_bucket{backend=\"cpu\",model=\"moderation\",version=\"1.0.0\",le=\"0.001048576\"} 11",
                "weir_batcher_queue_wait_seconds_bucket{backend=\"cpu\",model=\"moderation\",version=\"1.0.0\",le=\"+Inf\"} 12",
                "weir_batcher_queue_wait_seconds_bucket{backend=\"gpu\",model=\"moderation\",version=\"1.0.0\",le=\"+Inf\"} 3",
                "weir_batcher_queue_wait_seconds_bucket{backend=\"cpu\",model=\"ranker\",version=\"1.0.0\",le=\"+Inf\"} 50",
                "weir_batcher_compute_seconds_bucket{backend=\"cpu\",model=\"moderation\",version=\"1.0.0\",le=\"+Inf\"} 4",
                "weir_batcher_queue_wait_seconds_count{backend=\"cpu\",model=\"moderation\",version=\"1.0.0\"} 12",
                "weir_http_connections{loop=\"vert.x-eventloop-thread-0\"} 3.0",
                "weir_http_connections{loop=\"vert.x-eventloop-thread-1\"} 4.0");

        Map<String, Double> sums = PolicySweepSimulation.metricSums(body, "moderation");

        assertThat(sums).containsOnly(
                Map.entry(PolicySweepSimulation.SERVER_OK_LE + "0.067108864", 98.0),
                Map.entry(PolicySweepSimulation.SERVER_OK_LE + "+Inf", 110.0),
                Map.entry("weir_batcher_batch_rows_count", 12.0),
                Map.entry(PolicySweepSimulation.QUEUE_LE + "0.001048576", 11.0),
                Map.entry(PolicySweepSimulation.QUEUE_LE + "+Inf", 15.0),
                Map.entry("weir_batcher_queue_wait_seconds_count", 12.0),
                Map.entry("weir_http_connections", 7.0));
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
