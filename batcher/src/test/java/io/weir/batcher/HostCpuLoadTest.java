package io.weir.batcher;

import io.vertx.core.json.JsonObject;
import io.weir.batcher.policy.PolicySpec;
import org.junit.jupiter.api.Test;

import java.util.PrimitiveIterator;
import java.util.stream.DoubleStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The smoothing the adaptive policy's CPU-pressure hold relies on, with the production constants: at 30% load a
 * burst of full load lasting 0.2 s stays under the policy's default {@code pressure_threshold} (0.6; the reading
 * after it is 0.55), a load that stays crosses it within 0.2-2 s, and a platform without the reading reads 0.
 */
class HostCpuLoadTest {
    private static final double THRESHOLD = PolicySpec.parse(new JsonObject(), 1).pressureThreshold();
    private static final long SAMPLE_MS = HostCpuLoad.SAMPLE_INTERVAL.toMillis();

    @Test
    void aShortBurstOfFullLoadStaysUnderTheThreshold() {
        HostCpuLoad load = fedBy(DoubleStream.concat(DoubleStream.generate(() -> 0.3).limit(50),
                DoubleStream.generate(() -> 1.0).limit(200 / SAMPLE_MS)));
        double highest = 0;
        for (int i = 0; i < 50 + 200 / SAMPLE_MS; i++) {
            load.sample();
            highest = Math.max(highest, load.getAsDouble());
        }
        assertThat(highest).isLessThan(THRESHOLD);
    }

    @Test
    void aLoadThatStaysCrossesTheThresholdWithinTwoSeconds() {
        HostCpuLoad load = fedBy(DoubleStream.concat(DoubleStream.generate(() -> 0.45).limit(50),
                DoubleStream.generate(() -> 1.0)));
        for (int i = 0; i < 50; i++) {
            load.sample();
        }
        int samples = 0;
        while (load.getAsDouble() <= THRESHOLD && samples < 100) {
            load.sample();
            samples++;
        }
        assertThat(samples * SAMPLE_MS).isBetween(200L, 2000L);
    }

    @Test
    void aMissingReadingReadsAsIdle() {
        HostCpuLoad load = fedBy(DoubleStream.generate(() -> -1.0));
        for (int i = 0; i < 10; i++) {
            load.sample();
        }
        assertThat(load.getAsDouble()).isZero();
    }

    private static HostCpuLoad fedBy(DoubleStream samples) {
        PrimitiveIterator.OfDouble it = samples.iterator();
        return new HostCpuLoad(it::nextDouble, HostCpuLoad.SAMPLE_WEIGHT, null);
    }
}
