package io.weir.batcher.policy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.ModelConfig;

import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * A model's batching configuration, read from {@code ModelConfig.batching()}:
 *
 * <pre>{@code
 * {"policy": "none" | "fixed" | "adaptive",        // default adaptive
 *  "max_batch_rows": 64,                           // default and upper bound: the model's max_batch_rows
 *  "max_queue_delay_us": 2000,                     // fixed: longest wait from enqueue (default 0);
 *                                                  // adaptive: optional extra cap on waiting (default: none)
 *  "preferred_batch_rows": [8, 16, 32],            // fixed: flush when exactly one of these waits, or more than
 *                                                  // the largest (Triton's dynamic batcher)
 *  "headroom": 1.5,                                // adaptive: target capacity / measured arrival rate
 *  "min_samples": 5,                               // adaptive: batches observed before it starts waiting
 *  "safety_margin": 0.1,                           // adaptive: fraction of the budget kept in reserve
 *  "pressure_threshold": 0.6,                      // adaptive: host CPU load above which batches grow (1: never)
 *  "pressure_wait_fraction": 0.04,                 // adaptive: longest extra hold at full CPU, fraction of budget
 *  "pressure_wait_floor": 0.25,                    // adaptive: share of that longest hold just above the threshold
 *                                                  // (it grows with the pressure squared to all of it; 1: flat)
 *  "pressure_batch_requests": 30}                  // adaptive: requests waiting that end a CPU-pressure hold early
 * }</pre>
 *
 * Unknown policies, keys the chosen policy does not read, and null, mistyped or out-of-range values fail with a message
 * naming the key. The pressure defaults are measured ones: {@link AdaptivePolicy}'s design note says why,
 * docs/PERF.md has the runs ("The CPU-pressure hold's defaults" for the threshold and the 30 requests; "A hold's
 * bound that grows with the pressure" for how the 4% and its floor apply).
 */
public record PolicySpec(Kind kind, int maxBatchRows, long maxQueueDelayNanos, int[] preferredBatchRows,
                         double headroom, int minSamples, double safetyMargin, double pressureThreshold,
                         double pressureWaitFraction, double pressureWaitFloor, int pressureBatchRequests) {

    public enum Kind { NONE, FIXED, ADAPTIVE }

    /** Host CPU load above which {@code adaptive} holds requests to share a batch's fixed cost. */
    private static final double DEFAULT_PRESSURE_THRESHOLD = 0.6;
    /** Requests waiting that end a CPU-pressure hold before its time bound. */
    private static final int DEFAULT_PRESSURE_BATCH_REQUESTS = 30;
    /** The longest CPU-pressure hold at full CPU, as a fraction of the request's budget (a quarter of it at the threshold). */
    private static final double DEFAULT_PRESSURE_WAIT_FRACTION = 0.04;
    /** The share of that longest hold allowed just above the threshold; 1 makes the bound flat (the default until
     *  the simulated sweeps). */
    private static final double DEFAULT_PRESSURE_WAIT_FLOOR = 0.25;

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

    /** The settings each policy reads; any other key is refused rather than silently ignored. */
    private static final Map<Kind, Set<String>> KEYS = Map.of(
            Kind.NONE, Set.of("policy", "max_batch_rows"),
            Kind.FIXED, Set.of("policy", "max_batch_rows", "max_queue_delay_us", "preferred_batch_rows"),
            Kind.ADAPTIVE, Set.of("policy", "max_batch_rows", "max_queue_delay_us", "headroom", "min_samples",
                    "safety_margin", "pressure_threshold", "pressure_wait_fraction", "pressure_wait_floor",
                    "pressure_batch_requests"));
    /** The longest delay whose nanoseconds a long holds. */
    private static final long MAX_DELAY_US = Long.MAX_VALUE / 1_000;

    public static PolicySpec parse(JsonObject json, int modelMaxRows) {
        Object policy = json.containsKey("policy") ? json.getValue("policy") : "adaptive";
        Kind kind = switch (policy instanceof String p ? p : "") {
            case "none" -> Kind.NONE;
            case "fixed" -> Kind.FIXED;
            case "adaptive" -> Kind.ADAPTIVE;
            default -> throw new IllegalArgumentException("batching.policy must be 'none', 'fixed' or 'adaptive'");
        };
        for (String key : json.fieldNames()) {
            // A key of another policy, or a misspelled one (Triton's max_queue_delay_microseconds), would otherwise
            // leave its default in force with no word said: a fixed policy that never waits, say.
            if (!KEYS.get(kind).contains(key)) {
                throw new IllegalArgumentException("batching." + key + " is not a setting of the '"
                        + kind.name().toLowerCase(java.util.Locale.ROOT) + "' policy (its settings: "
                        + new java.util.TreeSet<>(KEYS.get(kind)) + ")");
            }
        }
        int maxRows = (int) integer(json, "max_batch_rows", modelMaxRows, 1, Integer.MAX_VALUE);
        maxRows = Math.min(maxRows, modelMaxRows);
        long delayUs = json.containsKey("max_queue_delay_us")
                ? integer(json, "max_queue_delay_us", 0, 0, MAX_DELAY_US)
                : kind == Kind.ADAPTIVE ? -1L : 0L;
        Object prefValue = json.getValue("preferred_batch_rows", new JsonArray());
        if (!(prefValue instanceof JsonArray pref)) {
            throw new IllegalArgumentException("batching.preferred_batch_rows must be an array of row counts");
        }
        int[] preferred = new int[pref.size()];
        for (int i = 0; i < preferred.length; i++) {
            preferred[i] = (int) wholeNumber(pref.getValue(i), "preferred_batch_rows[" + i + "]", 1, maxRows);
        }
        double headroom = number(json, "headroom", 1.5);
        if (!(headroom >= 1) || !Double.isFinite(headroom)) {
            throw new IllegalArgumentException("batching.headroom must be a number >= 1");
        }
        int minSamples = (int) integer(json, "min_samples", 5, 1, Integer.MAX_VALUE);
        double margin = number(json, "safety_margin", 0.1);
        if (!(margin >= 0 && margin < 1)) {
            throw new IllegalArgumentException("batching.safety_margin must be in [0, 1)");
        }
        double pressureThreshold = number(json, "pressure_threshold", DEFAULT_PRESSURE_THRESHOLD);
        if (!(pressureThreshold > 0 && pressureThreshold <= 1)) {
            throw new IllegalArgumentException("batching.pressure_threshold must be in (0, 1]");
        }
        double pressureWait = number(json, "pressure_wait_fraction", DEFAULT_PRESSURE_WAIT_FRACTION);
        if (!(pressureWait >= 0 && pressureWait <= 0.5)) {
            throw new IllegalArgumentException("batching.pressure_wait_fraction must be in [0, 0.5]");
        }
        double pressureWaitFloor = number(json, "pressure_wait_floor", DEFAULT_PRESSURE_WAIT_FLOOR);
        if (!(pressureWaitFloor >= 0 && pressureWaitFloor <= 1)) {
            throw new IllegalArgumentException("batching.pressure_wait_floor must be in [0, 1]");
        }
        int pressureBatch = (int) integer(json, "pressure_batch_requests", DEFAULT_PRESSURE_BATCH_REQUESTS, 2, Integer.MAX_VALUE);
        return new PolicySpec(kind, maxRows, delayUs < 0 ? Long.MAX_VALUE : delayUs * 1_000, preferred, headroom,
                minSamples, margin, pressureThreshold, pressureWait, pressureWaitFloor, pressureBatch);
    }

    /**
     * A whole number in {@code [min, max]} at {@code key}, or {@code otherwise} when the key is absent: null, a string,
     * a fraction or a value out of range is refused naming the key (JsonObject's own getters would unbox a null, cast a
     * string, or truncate 4294967297 to 1).
     */
    private static long integer(JsonObject json, String key, long otherwise, long min, long max) {
        return json.containsKey(key) ? wholeNumber(json.getValue(key), key, min, max) : otherwise;
    }

    private static long wholeNumber(Object v, String key, long min, long max) {
        if (!(v instanceof Number n) || !(n.doubleValue() == Math.rint(n.doubleValue()))
                || !(n.doubleValue() >= min && n.doubleValue() <= max)) {
            throw new IllegalArgumentException("batching." + key + " must be a whole number in [" + min + ", " + max
                    + "], was " + v);
        }
        return n.longValue();
    }

    /** A number at {@code key}, or {@code otherwise} when absent; anything but a number is refused naming the key. */
    private static double number(JsonObject json, String key, double otherwise) {
        if (!json.containsKey(key)) {
            return otherwise;
        }
        if (!(json.getValue(key) instanceof Number n)) {
            throw new IllegalArgumentException("batching." + key + " must be a number, was " + json.getValue(key));
        }
        return n.doubleValue();
    }

    /** A fresh policy instance (policies keep per-version feedback state, so each version gets its own). */
    public BatchPolicy create() {
        return switch (kind) {
            case NONE -> new NoBatchingPolicy(maxBatchRows);
            case FIXED -> new FixedPolicy(maxBatchRows, maxQueueDelayNanos, preferredBatchRows);
            case ADAPTIVE -> new AdaptivePolicy(maxBatchRows, maxQueueDelayNanos, headroom, minSamples, safetyMargin,
                    pressureThreshold, pressureWaitFraction, pressureWaitFloor, pressureBatchRequests);
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PolicySpec p && p.kind == kind && p.maxBatchRows == maxBatchRows
                && p.maxQueueDelayNanos == maxQueueDelayNanos && Arrays.equals(p.preferredBatchRows, preferredBatchRows)
                && p.headroom == headroom && p.minSamples == minSamples && p.safetyMargin == safetyMargin
                && p.pressureThreshold == pressureThreshold && p.pressureWaitFraction == pressureWaitFraction
                && p.pressureWaitFloor == pressureWaitFloor
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
                    + ", pressure_wait_floor=" + pressureWaitFloor
                    + ", pressure_batch_requests=" + pressureBatchRequests + ")";
        };
    }
}
