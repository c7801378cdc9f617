package io.weir.batcher;

import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.DoubleSupplier;

/**
 * Settings of a {@link BatchingDispatcher} that are not per model.
 *
 * @param ringSize         the most requests that may wait for one version (in the ring and in the forming batch
 *                         together) before new ones are refused; a power of two (the ring gets twice as many slots)
 * @param policyOverride   when not null, replaces every model's {@code batching} config (for policy sweeps)
 * @param waitMode         how a version's batching thread waits for requests (see {@link WaitMode})
 * @param backendHealth    health and saturation of non-CPU backends by backend name; others are observed
 * @param deviceWorkers    threads feeding each non-CPU backend (batches it computes at once)
 * @param snapshotInterval shortest interval between two rolls of the HdrHistogram recorders
 * @param cpuLoad          the host's CPU load, 0 to 1, for the adaptive policy ({@link HostCpuLoad}); the default reads
 *                         0 (as if the workers had the cores to themselves), which keeps decisions repeatable in tests
 */
public record BatchingOptions(int ringSize, JsonObject policyOverride, WaitMode waitMode,
                              Map<String, BackendHealth> backendHealth, int deviceWorkers, Duration snapshotInterval,
                              DoubleSupplier cpuLoad) {

    /**
     * How the batching thread waits. BLOCKING is the default because it measured fastest and steadiest on the
     * 2-core development machine (docs/PERF.md, "## Batcher"; reasons in {@code FlushWaitStrategy}).
     */
    public enum WaitMode {
        /** Lock and condition, signalled on every publish: Disruptor's BlockingWaitStrategy, with flush timers. */
        BLOCKING,
        /** Spin briefly, then park; producers unpark only when the consumer is parked (no lock on publish). */
        PARKING,
        /** Spin, yield, then poll with 100 µs sleeps (Disruptor's SleepingWaitStrategy). */
        SLEEPING,
        /** Spin, then yield forever: lowest latency, burns a core per model version. */
        YIELDING
    }

    public BatchingOptions {
        if (ringSize < 2 || Integer.bitCount(ringSize) != 1) {
            throw new IllegalArgumentException("ringSize must be a power of two >= 2");
        }
        if (deviceWorkers < 1) {
            throw new IllegalArgumentException("deviceWorkers must be at least 1");
        }
        policyOverride = policyOverride == null ? null : policyOverride.copy();
        backendHealth = Map.copyOf(backendHealth);
        Objects.requireNonNull(cpuLoad, "cpuLoad");
    }

    public static BatchingOptions defaults() {
        return new BatchingOptions(1024, null, WaitMode.BLOCKING, Map.of(), 1, Duration.ofSeconds(1), () -> 0);
    }

    public BatchingOptions withRingSize(int ringSize) {
        return new BatchingOptions(ringSize, policyOverride, waitMode, backendHealth, deviceWorkers, snapshotInterval, cpuLoad);
    }

    /** Every model batches with {@code batching} (e.g. {@code {"policy":"fixed","max_queue_delay_us":500}}). */
    public BatchingOptions withPolicyOverride(JsonObject batching) {
        return new BatchingOptions(ringSize, batching, waitMode, backendHealth, deviceWorkers, snapshotInterval, cpuLoad);
    }

    public BatchingOptions withWaitMode(WaitMode waitMode) {
        return new BatchingOptions(ringSize, policyOverride, waitMode, backendHealth, deviceWorkers, snapshotInterval, cpuLoad);
    }

    public BatchingOptions withBackendHealth(Map<String, BackendHealth> health) {
        return new BatchingOptions(ringSize, policyOverride, waitMode, health, deviceWorkers, snapshotInterval, cpuLoad);
    }

    public BatchingOptions withDeviceWorkers(int deviceWorkers) {
        return new BatchingOptions(ringSize, policyOverride, waitMode, backendHealth, deviceWorkers, snapshotInterval, cpuLoad);
    }

    public BatchingOptions withSnapshotInterval(Duration interval) {
        return new BatchingOptions(ringSize, policyOverride, waitMode, backendHealth, deviceWorkers, interval, cpuLoad);
    }

    public BatchingOptions withCpuLoad(DoubleSupplier cpuLoad) {
        return new BatchingOptions(ringSize, policyOverride, waitMode, backendHealth, deviceWorkers, snapshotInterval,
                cpuLoad);
    }
}
