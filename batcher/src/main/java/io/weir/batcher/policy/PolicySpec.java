package io.weir.batcher.policy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.ModelConfig;

import java.util.Arrays;

/**
 * A model's batching configuration, read from {@code ModelConfig.batching()}:
 *
 * <pre>{@code
 * {"policy": "none" | "fixed" | "adaptive",        // default adaptive
 *  "max_batch_rows": 64,                           // default and upper bound: the model's max_batch_rows
 *  "max_queue_delay_us": 2000,                     // fixed: longest wait from enqueue (default 0);
 *                                                  // adaptive: optional extra cap on waiting (default: none)
 *  "preferred_batch_rows": [8, 16, 32],            // fixed: flush as soon as one of these can be formed
 *  "headroom": 1.5,                                // adaptive: target capacity / measured arrival rate
 *  "min_samples": 5,                               // adaptive: batches observed before it starts waiting
 *  "safety_margin": 0.1,                           // adaptive: fraction of the budget kept in reserve
 *  "pressure_threshold": 0.6,                      // adaptive: host CPU load above which batches grow (1: never)
 *  "pressure_wait_fraction": 0.04,                 // adaptive: longest extra hold at full CPU, fraction of budget
 *  "pressure_batch_requests": 30}                  // adaptive: requests waiting that end a CPU-pressure hold early
 * }</pre>
 *
 * Unknown policies and out-of-range values fail with a message naming the key. The two pressure defaults are
 * measured ones: {@link AdaptivePolicy}'s design note says why, docs/PERF.md ("The CPU-pressure hold's defaults")
 * has the runs.
 */
public record PolicySpec(Kind kind, int maxBatchRows, long maxQueueDelayNanos, int[] preferredBatchRows,
                         double headroom, int minSamples, double safetyMargin, double pressureThreshold,
                         double pressureWaitFraction, int pressureBatchRequests) {

    public enum Kind { NONE, FIXED, ADAPTIVE }

    /** Host CPU load above which {@code adaptive} holds requests to share a batch's fixed cost. */
    private static final double DEFAULT_PRESSURE_THRESHOLD = 0.6;
    /** Requests waiting that end a CPU-pressure hold before its time bound. */
    private static final int DEFAULT_PRESSURE_BATCH_REQUESTS = 30;

    public PolicySpec {
        preferredBatchRows = preferredBatchRows.clone();
        Arrays.sort(preferredBatchRows);
    }

    @Override
    public int[] preferredBatchRows() {
        return preferredBatchRows.clone();
    }

    /** Parses {@code batching} for a model; {@code override}, when not null, replaces the model's own settings. */
    public static PolicySpec of(ModelConfig model, JsonObject override) {
        return parse(override != null ? override : model.batching(), model.maxBatchRows());
    }

    public static PolicySpec parse(JsonObject json, int modelMaxRows) {
        Kind kind = switch (json.getString("policy", "adaptive")) {
            case "none" -> Kind.NONE;
            case "fixed" -> Kind.FIXED;
            case "adaptive" -> Kind.ADAPTIVE;
            default -> throw new IllegalArgumentException("batching.policy must be 'none', 'fixed' or 'adaptive'");
        };
        int maxRows = json.getInteger("max_batch_rows", modelMaxRows);
        if (maxRows < 1) {
            throw new IllegalArgumentException("batching.max_batch_rows must be at least 1");
        }
        maxRows = Math.min(maxRows, modelMaxRows);
        long delayUs = json.getLong("max_queue_delay_us", kind == Kind.ADAPTIVE ? -1L : 0L);
        if (kind != Kind.ADAPTIVE && delayUs < 0) {
            throw new IllegalArgumentException("batching.max_queue_delay_us must not be negative");
        }
        JsonArray pref = json.getJsonArray("preferred_batch_rows", new JsonArray());
        int[] preferred = new int[pref.size()];
        for (int i = 0; i < preferred.length; i++) {
            preferred[i] = pref.getInteger(i);
            if (preferred[i] < 1 || preferred[i] > maxRows) {
                throw new IllegalArgumentException("batching.preferred_batch_rows[" + i + "] must be in [1, " + maxRows + "]");
            }
        }
        double headroom = json.getDouble("headroom", 1.5);
        if (!(headroom >= 1) || !Double.isFinite(headroom)) {
            throw new IllegalArgumentException("batching.headroom must be a number >= 1");
        }
        int minSamples = json.getInteger("min_samples", 5);
        if (minSamples < 1) {
            throw new IllegalArgumentException("batching.min_samples must be at least 1");
        }
        double margin = json.getDouble("safety_margin", 0.1);
        if (!(margin >= 0 && margin < 1)) {
            throw new IllegalArgumentException("batching.safety_margin must be in [0, 1)");
        }
        double pressureThreshold = json.getDouble("pressure_threshold", DEFAULT_PRESSURE_THRESHOLD);
        if (!(pressureThreshold > 0 && pressureThreshold <= 1)) {
            throw new IllegalArgumentException("batching.pressure_threshold must be in (0, 1]");
        }
        double pressureWait = json.getDouble("pressure_wait_fraction", 0.04);
        if (!(pressureWait >= 0 && pressureWait <= 0.5)) {
            throw new IllegalArgumentException("batching.pressure_wait_fraction must be in [0, 0.5]");
        }
        int pressureBatch = json.getInteger("pressure_batch_requests", DEFAULT_PRESSURE_BATCH_REQUESTS);
        if (pressureBatch < 2) {
            throw new IllegalArgumentException("batching.pressure_batch_requests must be at least 2");
        }
        return new PolicySpec(kind, maxRows, delayUs < 0 ? Long.MAX_VALUE : delayUs * 1_000, preferred, headroom,
                minSamples, margin, pressureThreshold, pressureWait, pressureBatch);
    }

    /** A fresh policy instance (policies keep per-version feedback state, so each version gets its own). */
    public BatchPolicy create() {
        return switch (kind) {
            case NONE -> new NoBatchingPolicy(maxBatchRows);
            case FIXED -> new FixedPolicy(maxBatchRows, maxQueueDelayNanos, preferredBatchRows);
            case ADAPTIVE -> new AdaptivePolicy(maxBatchRows, maxQueueDelayNanos, headroom, minSamples, safetyMargin,
                    pressureThreshold, pressureWaitFraction, pressureBatchRequests);
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PolicySpec p && p.kind == kind && p.maxBatchRows == maxBatchRows
                && p.maxQueueDelayNanos == maxQueueDelayNanos && Arrays.equals(p.preferredBatchRows, preferredBatchRows)
                && p.headroom == headroom && p.minSamples == minSamples && p.safetyMargin == safetyMargin
                && p.pressureThreshold == pressureThreshold && p.pressureWaitFraction == pressureWaitFraction
                && p.pressureBatchRequests == pressureBatchRequests;
    }

    @Override
    public int hashCode() {
        return kind.hashCode() * 31 + maxBatchRows;
    }

    @Override
    public String toString() {
        String head = kind.name().toLowerCase(java.util.Locale.ROOT) + "(max_rows=" + maxBatchRows;
        return switch (kind) {
            case NONE -> head + ")";
            case FIXED -> head + ", delay_us=" + maxQueueDelayNanos / 1_000 + ", preferred=" + Arrays.toString(preferredBatchRows) + ")";
            case ADAPTIVE -> head + ", delay_us=" + (maxQueueDelayNanos == Long.MAX_VALUE ? "budget" : maxQueueDelayNanos / 1_000)
                    + ", headroom=" + headroom + ", min_samples=" + minSamples + ", safety_margin=" + safetyMargin
                    + ", pressure_threshold=" + pressureThreshold + ", pressure_wait_fraction=" + pressureWaitFraction
                    + ", pressure_batch_requests=" + pressureBatchRequests + ")";
        };
    }
}
