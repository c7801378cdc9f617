package io.weir.router;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.WeirException;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One model's rollout: which version serves (primary), which is being tried on a sticky share of users (canary),
 * which receives mirrored traffic (shadow), how a client may force an arm, and the staged rollout with its gates.
 * Immutable; JSON both ways ({@link #fromJson}, {@link #toJson}). Example:
 *
 * <pre>{@code
 * { "primary": "1.0.0", "canary": "1.1.0", "canary_weight": 5,
 *   "shadow": "1.1.0", "shadow_sample_rate": 0.2,
 *   "force_header": "x-weir-variant", "allow_users": ["qa-1"], "deny_users": [],
 *   "stages": [ {"name": "shadow", "canary_weight": "shadow", "min_duration_s": 600, "min_requests": 1000},
 *               {"name": "5%", "canary_weight": 5, "min_duration_s": 900, "min_requests": 2000},
 *               {"name": "100%", "canary_weight": 100, "min_duration_s": 900, "min_requests": 5000} ],
 *   "gates": { "max_error_rate": 0.01, "max_p95_ratio_vs_primary": 1.5, "max_p95_ms": 80, "max_psi": 0.2,
 *              "min_shadow_label_agreement": 0.97, "max_shadow_mean_abs_diff": 0.05, "golden": true,
 *              "min_window_requests": 50 },
 *   "window_s": 60, "paused": false, "stage": 0, "status": "running" }
 * }</pre>
 *
 * <p>{@code canary_weight} is a percentage with at most two decimals (it is applied in basis points). {@code stage},
 * {@code status} and {@code status_reason} are the rollout's progress, written by the rollout guard and the admin
 * operations; an edit that changes the canary version starts a new rollout (stage 0, running).
 */
public record RolloutConfig(
        String model,
        String primary,
        String canary,
        double canaryWeight,
        String shadow,
        double shadowSampleRate,
        String forceHeader,
        Set<String> allowUsers,
        Set<String> denyUsers,
        String salt,
        List<Stage> stages,
        Gates gates,
        double windowSeconds,
        boolean paused,
        int stage,
        Status status,
        String statusReason) {

    public static final String DEFAULT_FORCE_HEADER = "x-weir-variant";
    public static final double DEFAULT_WINDOW_SECONDS = 60;

    private static final Pattern HEADER_TOKEN = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]+");
    private static final Set<String> KEYS = Set.of("model", "primary", "canary", "canary_weight", "shadow",
            "shadow_sample_rate", "force_header", "allow_users", "deny_users", "salt", "stages", "gates", "window_s",
            "paused", "stage", "status", "status_reason");

    /** Progress of the rollout of the current canary. */
    public enum Status {
        /** The guard evaluates gates and advances stages. */
        RUNNING,
        /** A gate (or an operator) rolled the canary back: it gets no traffic until a new canary or status is set. */
        ROLLED_BACK;

        public String json() {
            return name().toLowerCase(Locale.ROOT);
        }

        static Status parse(String s) {
            return switch (s) {
                case "running" -> RUNNING;
                case "rolled_back" -> ROLLED_BACK;
                default -> throw WeirException.invalid("status must be 'running' or 'rolled_back', not '" + s + "'");
            };
        }
    }

    /**
     * One step of a staged rollout. A shadow stage mirrors traffic to the canary version and gives it no users; a
     * weight stage gives it {@code canaryWeight} percent of users. The guard leaves a stage once it has lasted
     * {@code minDurationSeconds}, the gates have judged {@code minRequests} (and at least one) of the candidate's
     * requests in it, and every gate passed.
     */
    public record Stage(String name, boolean shadow, double canaryWeight, double minDurationSeconds, long minRequests) {
        private static final Set<String> KEYS = Set.of("name", "canary_weight", "min_duration_s", "min_requests");

        public JsonObject toJson() {
            return new JsonObject().put("name", name).put("canary_weight", shadow ? "shadow" : (Object) canaryWeight)
                    .put("min_duration_s", minDurationSeconds).put("min_requests", minRequests);
        }

        static Stage fromJson(JsonObject j, String where) {
            unknownKeys(j, KEYS, where);
            Object w = j.getValue("canary_weight");
            boolean shadow = "shadow".equals(w);
            if (!shadow && !(w instanceof Number)) {
                throw WeirException.invalid(where + ".canary_weight must be a number or \"shadow\"");
            }
            return new Stage(string(j, "name", where), shadow, shadow ? 0 : ((Number) w).doubleValue(),
                    number(j, "min_duration_s", 0, where), (long) number(j, "min_requests", 0, where));
        }
    }

    /**
     * Thresholds evaluated over each window; a {@code null} threshold is not evaluated. Statistics of an arm with fewer
     * than {@code minWindowRequests} requests (or shadow comparisons) in a window are not judged in that window; the
     * candidate's carry into the next window until there are enough.
     *
     * @param maxP95Ms {@code null} means the model's latency budget
     */
    public record Gates(Double maxErrorRate, Double maxP95RatioVsPrimary, Double maxP95Ms, Double maxPsi,
                        Double minShadowLabelAgreement, Double maxShadowMeanAbsDiff, boolean golden,
                        long minWindowRequests) {
        private static final Set<String> KEYS = Set.of("max_error_rate", "max_p95_ratio_vs_primary", "max_p95_ms",
                "max_psi", "min_shadow_label_agreement", "max_shadow_mean_abs_diff", "golden", "min_window_requests");

        public static final Gates DEFAULTS = new Gates(0.02, 1.5, null, 0.25, 0.95, 0.05, false, 50);

        public JsonObject toJson() {
            return new JsonObject().put("max_error_rate", maxErrorRate)
                    .put("max_p95_ratio_vs_primary", maxP95RatioVsPrimary).put("max_p95_ms", maxP95Ms)
                    .put("max_psi", maxPsi).put("min_shadow_label_agreement", minShadowLabelAgreement)
                    .put("max_shadow_mean_abs_diff", maxShadowMeanAbsDiff).put("golden", golden)
                    .put("min_window_requests", minWindowRequests);
        }

        /** Absent keys take {@link #DEFAULTS}; an explicit {@code null} switches a threshold off. */
        static Gates fromJson(JsonObject j) {
            if (j == null) {
                return DEFAULTS;
            }
            unknownKeys(j, KEYS, "gates");
            return new Gates(threshold(j, "max_error_rate", DEFAULTS.maxErrorRate),
                    threshold(j, "max_p95_ratio_vs_primary", DEFAULTS.maxP95RatioVsPrimary),
                    threshold(j, "max_p95_ms", DEFAULTS.maxP95Ms), threshold(j, "max_psi", DEFAULTS.maxPsi),
                    threshold(j, "min_shadow_label_agreement", DEFAULTS.minShadowLabelAgreement),
                    threshold(j, "max_shadow_mean_abs_diff", DEFAULTS.maxShadowMeanAbsDiff),
                    bool(j, "golden", DEFAULTS.golden, "gates"),
                    (long) number(j, "min_window_requests", DEFAULTS.minWindowRequests, "gates"));
        }

        private static Double threshold(JsonObject j, String key, Double dflt) {
            if (!j.containsKey(key)) {
                return dflt;
            }
            Object v = j.getValue(key);
            if (v == null) {
                return null;
            }
            if (!(v instanceof Number n)) {
                throw WeirException.invalid("gates." + key + " must be a number or null");
            }
            return n.doubleValue();
        }
    }

    public RolloutConfig {
        allowUsers = Set.copyOf(allowUsers);
        denyUsers = Set.copyOf(denyUsers);
        stages = List.copyOf(stages);
        Objects.requireNonNull(gates, "gates");
        Objects.requireNonNull(status, "status");
        Objects.requireNonNull(forceHeader, "forceHeader");
    }

    /** A config that sends everything to {@code primary}, with default gates and no stages. */
    public static RolloutConfig primaryOnly(String model, String primary) {
        return new RolloutConfig(model, primary, null, 0, null, 0, DEFAULT_FORCE_HEADER, Set.of(), Set.of(), null,
                List.of(), Gates.DEFAULTS, DEFAULT_WINDOW_SECONDS, false, 0, Status.RUNNING, null);
    }

    /** Canary weight in basis points (0..10000), the unit user assignment compares against. */
    public int canaryBasisPoints() {
        return (int) Math.round(canaryWeight * 100);
    }

    /** The salt users are hashed with; defaults to the model name so models assign users independently. */
    public String effectiveSalt() {
        return salt == null ? model : salt;
    }

    public boolean hasStages() {
        return !stages.isEmpty();
    }

    public Stage currentStage() {
        return stages.get(stage);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    // ---------------------------------------------------------------------------------------------- validation

    /**
     * Everything wrong with this config, each naming the field; empty when it may serve. With a catalog, every
     * version that gets traffic (the primary, a running canary, a shadow sampled above 0) must be READY and the model
     * must have a READY version; without one, only its structure is checked (used when rolling back, which must never
     * be refused because a version went away).
     */
    public List<String> problems(ModelCatalog catalog) {
        List<String> p = new ArrayList<>();
        if (model == null || model.isBlank()) {
            p.add("model is required");
            return p;
        }
        if (primary == null || primary.isBlank()) {
            p.add("primary is required");
        }
        if (!Double.isFinite(canaryWeight) || canaryWeight < 0 || canaryWeight > 100) {
            p.add("canary_weight must be between 0 and 100, not " + canaryWeight);
        }
        if (canary == null && canaryWeight > 0) {
            p.add("canary_weight is " + canaryWeight + " but no canary version is set");
        }
        if (canary != null && canary.equals(primary)) {
            p.add("canary must differ from primary (" + primary + ")");
        }
        if (shadow != null && shadow.equals(primary)) {
            p.add("shadow must differ from primary (" + primary + ")");
        }
        if (!Double.isFinite(shadowSampleRate) || shadowSampleRate < 0 || shadowSampleRate > 1) {
            p.add("shadow_sample_rate must be between 0 and 1, not " + shadowSampleRate);
        }
        if (!HEADER_TOKEN.matcher(forceHeader).matches()) {
            p.add("force_header '" + forceHeader + "' is not a valid header name");
        }
        Set<String> both = new HashSet<>(allowUsers);
        both.retainAll(denyUsers);
        if (!both.isEmpty()) {
            p.add("users both allowed and denied: " + both);
        }
        if (!(windowSeconds > 0) || !Double.isFinite(windowSeconds)) {
            p.add("window_s must be a positive number, not " + windowSeconds);
        }
        Set<String> names = new HashSet<>();
        double lastWeight = -1;
        for (int i = 0; i < stages.size(); i++) {
            Stage s = stages.get(i);
            String where = "stages[" + i + "]";
            if (s.name() == null || s.name().isBlank() || !names.add(s.name())) {
                p.add(where + ".name must be non-blank and unique");
            }
            double w = s.shadow() ? 0 : s.canaryWeight();
            if (!s.shadow() && (!Double.isFinite(w) || w <= 0 || w > 100)) {
                p.add(where + ".canary_weight must be above 0 and at most 100, or \"shadow\", not " + w);
            }
            if (w < lastWeight || (s.shadow() && i > 0 && !stages.get(i - 1).shadow())) {
                p.add(where + " lowers the canary's share: stages must only widen it");
            }
            lastWeight = Math.max(lastWeight, w);
            if (!(s.minDurationSeconds() >= 0) || !Double.isFinite(s.minDurationSeconds())) {
                p.add(where + ".min_duration_s must be at least 0");
            }
            if (s.minRequests() < 0) {
                p.add(where + ".min_requests must be at least 0");
            }
        }
        if (stage < 0 || (hasStages() ? stage >= stages.size() : stage != 0)) {
            p.add("stage " + stage + " is not one of the " + stages.size() + " stages");
        }
        gateProblems(p);
        if (catalog != null) {
            List<String> ready = catalog.readyVersions(model);
            if (ready.isEmpty()) {
                p.add("model '" + model + "' has no loaded version");
            } else {
                ready(p, "primary", primary, ready);
                // a version that gets no traffic need not be loaded: a rolled-back canary may have been unloaded
                // since, and refusing it would keep the rollout file from loading at start-up
                if (status == Status.RUNNING) {
                    ready(p, "canary", canary, ready);
                }
                if (shadowSampleRate > 0) {
                    ready(p, "shadow", shadow, ready);
                }
            }
        }
        return p;
    }

    private void gateProblems(List<String> p) {
        fraction(p, "gates.max_error_rate", gates.maxErrorRate());
        positive(p, "gates.max_p95_ratio_vs_primary", gates.maxP95RatioVsPrimary());
        positive(p, "gates.max_p95_ms", gates.maxP95Ms());
        if (gates.maxPsi() != null && !(gates.maxPsi() >= 0)) {
            p.add("gates.max_psi must be at least 0");
        }
        fraction(p, "gates.min_shadow_label_agreement", gates.minShadowLabelAgreement());
        if (gates.maxShadowMeanAbsDiff() != null && !(gates.maxShadowMeanAbsDiff() >= 0)) {
            p.add("gates.max_shadow_mean_abs_diff must be at least 0");
        }
        if (gates.minWindowRequests() < 1) {
            p.add("gates.min_window_requests must be at least 1");
        }
    }

    private static void fraction(List<String> p, String key, Double v) {
        if (v != null && !(v >= 0 && v <= 1)) {
            p.add(key + " must be between 0 and 1, not " + v);
        }
    }

    private static void positive(List<String> p, String key, Double v) {
        if (v != null && !(v > 0 && Double.isFinite(v))) {
            p.add(key + " must be a positive number, not " + v);
        }
    }

    private static void ready(List<String> p, String field, String version, List<String> ready) {
        if (version != null && !ready.contains(version)) {
            p.add(field + " version '" + version + "' is not loaded (loaded: " + ready + ")");
        }
    }

    // ---------------------------------------------------------------------------------------------- JSON

    public JsonObject toJson() {
        JsonArray st = new JsonArray();
        stages.forEach(s -> st.add(s.toJson()));
        JsonObject j = new JsonObject().put("model", model).put("primary", primary);
        if (canary != null) {
            j.put("canary", canary);
        }
        j.put("canary_weight", canaryWeight);
        if (shadow != null) {
            j.put("shadow", shadow);
        }
        j.put("shadow_sample_rate", shadowSampleRate).put("force_header", forceHeader)
                .put("allow_users", new JsonArray(allowUsers.stream().sorted().toList()))
                .put("deny_users", new JsonArray(denyUsers.stream().sorted().toList()));
        if (salt != null) {
            j.put("salt", salt);
        }
        j.put("stages", st).put("gates", gates.toJson()).put("window_s", windowSeconds).put("paused", paused)
                .put("stage", stage).put("status", status.json());
        if (statusReason != null) {
            j.put("status_reason", statusReason);
        }
        return j;
    }

    /**
     * Parses one model's rollout. {@code model} names it (the file key or the admin path); a {@code "model"} field in
     * the body, if present, must agree. Unknown keys are refused so that a misspelt field is not silently ignored.
     *
     * @throws WeirException INVALID_ARGUMENT naming the field
     */
    public static RolloutConfig fromJson(String model, JsonObject j) {
        if (j == null) {
            throw WeirException.invalid("rollout for '" + model + "' must be a JSON object");
        }
        unknownKeys(j, KEYS, "rollout");
        String named = optString(j, "model", "rollout");
        if (named != null && model != null && !named.equals(model)) {
            throw WeirException.invalid("body names model '" + named + "' but the rollout is for '" + model + "'");
        }
        String m = model != null ? model : named;
        List<Stage> stages = new ArrayList<>();
        Object st = j.getValue("stages");
        if (st != null) {
            if (!(st instanceof JsonArray arr)) {
                throw WeirException.invalid("stages must be an array");
            }
            for (int i = 0; i < arr.size(); i++) {
                if (!(arr.getValue(i) instanceof JsonObject so)) {
                    throw WeirException.invalid("stages[" + i + "] must be an object");
                }
                stages.add(Stage.fromJson(so, "stages[" + i + "]"));
            }
        }
        Object gates = j.getValue("gates");
        if (gates != null && !(gates instanceof JsonObject)) {
            throw WeirException.invalid("gates must be an object");
        }
        String statusText = optString(j, "status", "rollout");
        return new RolloutConfig(m, optString(j, "primary", "rollout"), optString(j, "canary", "rollout"),
                number(j, "canary_weight", 0, "rollout"), optString(j, "shadow", "rollout"),
                number(j, "shadow_sample_rate", 0, "rollout"),
                j.containsKey("force_header") ? string(j, "force_header", "rollout") : DEFAULT_FORCE_HEADER,
                users(j, "allow_users"), users(j, "deny_users"), optString(j, "salt", "rollout"), stages,
                Gates.fromJson((JsonObject) gates), number(j, "window_s", DEFAULT_WINDOW_SECONDS, "rollout"),
                bool(j, "paused", false, "rollout"), (int) number(j, "stage", 0, "rollout"),
                statusText == null ? Status.RUNNING : Status.parse(statusText), optString(j, "status_reason", "rollout"));
    }

    private static void unknownKeys(JsonObject j, Set<String> known, String where) {
        for (String k : j.fieldNames()) {
            if (!known.contains(k)) {
                throw WeirException.invalid(where + " has unknown field '" + k + "' (known: "
                        + known.stream().sorted().toList() + ")");
            }
        }
    }

    private static String optString(JsonObject j, String key, String where) {
        Object v = j.getValue(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s) || s.isBlank()) {
            throw WeirException.invalid(where + "." + key + " must be a non-empty string");
        }
        return s;
    }

    private static String string(JsonObject j, String key, String where) {
        String s = optString(j, key, where);
        if (s == null) {
            throw WeirException.invalid(where + "." + key + " is required");
        }
        return s;
    }

    private static double number(JsonObject j, String key, double dflt, String where) {
        Object v = j.getValue(key);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof Number n)) {
            throw WeirException.invalid(where + "." + key + " must be a number");
        }
        return n.doubleValue();
    }

    private static boolean bool(JsonObject j, String key, boolean dflt, String where) {
        Object v = j.getValue(key);
        if (v == null) {
            return dflt;
        }
        if (!(v instanceof Boolean b)) {
            throw WeirException.invalid(where + "." + key + " must be true or false");
        }
        return b;
    }

    private static Set<String> users(JsonObject j, String key) {
        Object v = j.getValue(key);
        if (v == null) {
            return Set.of();
        }
        if (!(v instanceof JsonArray arr)) {
            throw WeirException.invalid(key + " must be an array of user ids");
        }
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i < arr.size(); i++) {
            if (!(arr.getValue(i) instanceof String s) || s.isEmpty()) {
                throw WeirException.invalid(key + "[" + i + "] must be a non-empty string");
            }
            out.add(s);
        }
        return out;
    }

    // ---------------------------------------------------------------------------------------------- builder

    /** Copy-and-change, for the admin operations and the rollout guard. */
    public static final class Builder {
        private final RolloutConfig base;
        private String primary;
        private String canary;
        private double canaryWeight;
        private String shadow;
        private double shadowSampleRate;
        private List<Stage> stages;
        private Gates gates;
        private boolean paused;
        private int stage;
        private Status status;
        private String statusReason;

        private Builder(RolloutConfig c) {
            base = c;
            primary = c.primary;
            canary = c.canary;
            canaryWeight = c.canaryWeight;
            shadow = c.shadow;
            shadowSampleRate = c.shadowSampleRate;
            stages = c.stages;
            gates = c.gates;
            paused = c.paused;
            stage = c.stage;
            status = c.status;
            statusReason = c.statusReason;
        }

        public Builder primary(String v) {
            primary = v;
            return this;
        }

        public Builder canary(String v) {
            canary = v;
            return this;
        }

        public Builder canaryWeight(double v) {
            canaryWeight = v;
            return this;
        }

        public Builder shadow(String v) {
            shadow = v;
            return this;
        }

        public Builder shadowSampleRate(double v) {
            shadowSampleRate = v;
            return this;
        }

        public Builder stages(List<Stage> v) {
            stages = v;
            return this;
        }

        public Builder gates(Gates v) {
            gates = v;
            return this;
        }

        public Builder paused(boolean v) {
            paused = v;
            return this;
        }

        public Builder stage(int v) {
            stage = v;
            return this;
        }

        public Builder status(Status v, String reason) {
            status = v;
            statusReason = reason;
            return this;
        }

        public RolloutConfig build() {
            return new RolloutConfig(base.model, primary, canary, canaryWeight, shadow, shadowSampleRate,
                    base.forceHeader, base.allowUsers, base.denyUsers, base.salt, stages, gates, base.windowSeconds,
                    paused, stage, status, statusReason);
        }
    }
}
