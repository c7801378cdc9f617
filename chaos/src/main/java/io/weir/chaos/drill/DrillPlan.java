package io.weir.chaos.drill;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.repository.Versions;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A drill: the load it offers (a constant open-model rate cycling through request templates; {@code client_deadline_ms}
 * makes it propagate a deadline as gRPC clients do: each request carries in {@code x-weir-timeout-ms} what is left of
 * it when a connection is free, and one whose deadline passed first is not sent, shown as "unsent" and judged as a 504)
 * and its phases, each
 * with the faults it sets and clears when it starts and what clients must see while it lasts. Parsed strictly: an
 * unknown key, a missing or mistyped value is refused with the path of the offending field, so that a typo in a drill
 * cannot quietly test nothing.
 *
 * <pre>{@code
 * {"name": "slow-ranker", "rate_per_s": 100, "connections": 32,
 *  "requests": [{"path": "/v1/rank:score", "body": {...}}],
 *  "phases": [
 *    {"name": "baseline", "seconds": 10, "expect": {"statuses": [200], "min_ok_share": 0.99}},
 *    (a phase may offer its own "rate_per_s": a surge; and "shed": 0.3 has the edge answer that share 429, 0 ends it)
 *    {"name": "slow device", "seconds": 20, "inject": [{"model": "ranker", "latency_ms": 250}],
 *     "expect": {"statuses": [200, 429, 504]}},
 *    {"name": "recovery", "seconds": 15, "clear": [{"model": "ranker"}],
 *     "expect": {"statuses": [200, 429, 504], "recover_within_s": 5, "min_ok_share": 0.99, "max_ok_p95_ms": 120}}]}
 * }</pre>
 */
public record DrillPlan(String name, String description, double ratePerSecond, int connections, long timeoutMillis,
                        long clientDeadlineMillis, List<RequestTemplate> requests, List<Phase> phases) {
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,64}");
    private static final Pattern INFERENCE_PATH = Pattern.compile("(/[A-Za-z0-9._:-]+)+");
    private static final Set<String> ADMIN_METHODS = Set.of("GET", "PUT", "POST", "DELETE");

    /** A request the drill sends (POST), cycled through in order. */
    public record RequestTemplate(String path, JsonObject body) {
    }

    /**
     * A fault set through {@code PUT /admin/chaos/faults/:model}: {@code version} null for every version of the model,
     * {@code backend} null for every backend.
     */
    public record Injection(String model, String version, String backend, JsonObject fault) {
        Clearing target() {
            return new Clearing(model, version, backend);
        }
    }

    /** A fault removed through {@code DELETE /admin/chaos/faults/:model}: exactly the target an injection named. */
    public record Clearing(String model, String version, String backend) {
        @Override
        public String toString() {
            return model + (version == null ? "" : "@" + version) + (backend == null ? "" : " on " + backend);
        }
    }

    /**
     * An admin call made when its phase starts, after its clears and before its injections: a rollout set up or
     * removed, a batching policy overridden, or a state read and checked.
     *
     * @param body   the request body, or null
     * @param undo   the call that undoes this one (a rollout PUT is undone by its DELETE), or null: made when the drill
     *               ends however it ends, unless a later phase made that very call. A call that changes the gateway
     *               (not a GET) must have one, be an earlier call's undo, or say {@code "undo": null} (leave it). A
     *               PUT undone by a DELETE of its own path must not replace anything: the drill refuses to run when the
     *               path already answers.
     * @param expect what the answer's JSON must contain (objects compared key by key, other values by equality), or
     *               null; a mismatch fails the phase
     */
    public record AdminCall(String method, String path, JsonObject body, AdminCall undo, JsonObject expect) {
        /** Whether this call is {@code other}, as an undo is matched: the same method, path and body. */
        boolean sameAs(AdminCall other) {
            return method.equals(other.method) && path.equals(other.path) && java.util.Objects.equals(body, other.body);
        }
    }

    /**
     * What clients must see during a phase. Every phase also requires, whatever it says here: no request lost, no
     * answer with another request's id, every 429 with a Retry-After, every error in the error table's shape.
     *
     * @param statuses       the HTTP statuses allowed (200 alone unless the phase lists others)
     * @param minOkShare     the least share of requests answered 200, or NaN for no bound
     * @param maxOkP95Millis the highest p95 of the 200s, timed from each request's scheduled send, or NaN
     * @param recoverWithinS the phase must become healthy (1-s windows meeting the two bounds above, 99% 200s when
     *                       no share is given) within this many seconds and stay so; the bounds then apply from that
     *                       moment on. Measured in whole windows: under 1 means healthy from the first window.
     *                       NaN: the bounds apply to the whole phase.
     * @param atLeast        the fewest answers of a status the phase must see, by status: that the fault was felt
     *                       (a bad canary's 500s before its rollback), not only that nothing else went wrong
     * @param recoverFrom    the statuses the fault causes: when given, a recovery window is healthy when none of its
     *                       answers has one of them (and the p95 bound holds), so that a shed unrelated to the fault
     *                       does not move the recovery; empty: a healthy window has the share of 200s
     */
    public record Expectation(Set<Integer> statuses, double minOkShare, double maxOkP95Millis, double recoverWithinS,
                              Map<Integer, Integer> atLeast, Set<Integer> recoverFrom) {
        static final Expectation DEFAULT = new Expectation(Set.of(200), Double.NaN, Double.NaN, Double.NaN, Map.of(), Set.of());

        public Expectation(Set<Integer> statuses, double minOkShare, double maxOkP95Millis, double recoverWithinS) {
            this(statuses, minOkShare, maxOkP95Millis, recoverWithinS, Map.of(), Set.of());
        }

        public Expectation(Set<Integer> statuses, double minOkShare, double maxOkP95Millis, double recoverWithinS,
                           Map<Integer, Integer> atLeast) {
            this(statuses, minOkShare, maxOkP95Millis, recoverWithinS, atLeast, Set.of());
        }
    }

    /**
     * @param ratePerSecond this phase's offered rate (a {@code rate_per_s} of its own: a surge), or NaN for the
     *                      drill's
     * @param shedFraction  the share of inference requests the gateway's edge sheds from this phase on (its
     *                      {@code shed}: {@code PUT /admin/chaos/shed}; 0 ends it), or NaN to leave it as it is
     */
    public record Phase(String name, double seconds, double ratePerSecond, List<AdminCall> admin,
                        List<Injection> inject, List<Clearing> clear, Expectation expect, double shedFraction) {
        public Phase(String name, double seconds, List<AdminCall> admin, List<Injection> inject, List<Clearing> clear,
                     Expectation expect) {
            this(name, seconds, Double.NaN, admin, inject, clear, expect, Double.NaN);
        }

        /** The rate this phase offers, its own or the drill's. */
        public double rate(DrillPlan plan) {
            return Double.isNaN(ratePerSecond) ? plan.ratePerSecond() : ratePerSecond;
        }
    }

    /** Parses a drill file's text; throws {@link IllegalArgumentException} naming the offending field. */
    public static DrillPlan parse(String json) {
        JsonObject o;
        try {
            o = new JsonObject(json);
        } catch (DecodeException | ClassCastException e) {
            throw new IllegalArgumentException("a drill is a JSON object: " + e.getMessage());
        }
        return parse(o);
    }

    public static DrillPlan parse(JsonObject o) {
        only(o, "drill", "name", "description", "rate_per_s", "connections", "timeout_ms", "client_deadline_ms", "requests",
                "phases");
        String name = string(o, "name", "drill");
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("drill.name must be 1-64 letters, digits, '.', '_' or '-', was '" + name + "'");
        }
        String description = o.containsKey("description") ? string(o, "description", "drill") : "";
        double rate = required(o, "rate_per_s", "drill", 0.1, 20_000);
        int connections = (int) whole(o, "connections", "drill", 1, 1024, 32);
        long timeout = whole(o, "timeout_ms", "drill", 100, 60_000, 10_000);
        long clientDeadline = whole(o, "client_deadline_ms", "drill", 1, 60_000, 0);
        if (clientDeadline > timeout) {
            throw new IllegalArgumentException("drill.client_deadline_ms (" + clientDeadline + ") must not exceed"
                    + " timeout_ms (" + timeout + "): the gateway would answer requests the drill already counted lost");
        }
        JsonArray requestsJson = array(o, "requests", "drill");
        List<RequestTemplate> requests = new ArrayList<>();
        for (int i = 0; i < requestsJson.size(); i++) {
            String at = "drill.requests[" + i + "]";
            JsonObject r = object(requestsJson.getValue(i), at);
            only(r, at, "path", "body");
            String path = string(r, "path", at);
            if (!INFERENCE_PATH.matcher(path).matches() || path.contains("//") || path.contains("/.")
                    || path.startsWith("/admin") || path.equals("/metrics")) {
                throw new IllegalArgumentException(at + ".path must be an inference path ('/' then letters, digits,"
                        + " '-', '_', ':', '.', no '..', '//', query or escapes, not /admin), was '" + path + "'");
            }
            JsonObject body = object(r.getValue("body"), at + ".body");
            for (String id : new String[] {"request_id", "id"}) {
                if (body.containsKey(id)) {
                    throw new IllegalArgumentException(at + ".body must not carry '" + id + "': the drill gives every"
                            + " request its own id (x-request-id) and checks that its answer echoes it");
                }
            }
            requests.add(new RequestTemplate(path, body));
        }
        JsonArray phasesJson = array(o, "phases", "drill");
        List<Phase> phases = new ArrayList<>();
        Set<Clearing> inForce = new LinkedHashSet<>();
        List<AdminCall> declaredUndos = new ArrayList<>();
        for (int i = 0; i < phasesJson.size(); i++) {
            String at = "drill.phases[" + i + "]";
            JsonObject raw = object(phasesJson.getValue(i), at);
            Phase phase = phase(raw, at);
            for (int k = 0; k < phase.admin().size(); k++) {
                AdminCall a = phase.admin().get(k);
                boolean saysUndo = raw.getJsonArray("admin").getJsonObject(k).containsKey("undo");
                // a change the drill leaves behind must be meant: an undo, the undo of an earlier call, or undo: null
                if (!a.method().equals("GET") && !saysUndo && declaredUndos.stream().noneMatch(a::sameAs)) {
                    throw new IllegalArgumentException(at + ".admin[" + k + "] (" + a.method() + " " + a.path()
                            + ") changes the gateway but has no undo: give one (made when the drill ends, however it"
                            + " ends), or \"undo\": null to leave the gateway as this call leaves it");
                }
                if (a.undo() != null) {
                    declaredUndos.add(a.undo());
                }
            }
            for (int c = 0; c < phase.clear().size(); c++) {
                // A clear removes exactly the target it names: {ranker} does not remove {ranker, backend cpu}.
                if (!inForce.remove(phase.clear().get(c))) {
                    throw new IllegalArgumentException(at + ".clear[" + c + "] clears " + phase.clear().get(c)
                            + ", which no earlier phase injected (in force: " + inForce + ")");
                }
            }
            phase.inject().forEach(f -> inForce.add(f.target()));
            phases.add(phase);
        }
        return new DrillPlan(name, description, rate, connections, timeout, clientDeadline, List.copyOf(requests),
                List.copyOf(phases));
    }

    /** Seconds the drill's phases last, together. */
    public double seconds() {
        return phases.stream().mapToDouble(Phase::seconds).sum();
    }

    private static Phase phase(JsonObject p, String at) {
        only(p, at, "name", "seconds", "rate_per_s", "admin", "inject", "clear", "expect", "shed");
        String name = string(p, "name", at);
        double seconds = required(p, "seconds", at, 0.5, 3600);
        double phaseRate = optional(p, "rate_per_s", at, 0.1, 20_000);
        double shed = optional(p, "shed", at, 0, 1);
        List<AdminCall> admin = each(p, "admin", at, (c, cat) -> adminCall(c, cat, true));
        List<Injection> inject = each(p, "inject", at, (f, fat) -> {
            only(f, fat, "model", "version", "backend", "latency_ms", "failure_rate", "device_fault");
            String model = string(f, "model", fat);
            String version = version(f, fat);
            String backend = f.containsKey("backend") ? string(f, "backend", fat) : null;
            double latency = optional(f, "latency_ms", fat, 0, 60_000);
            double rate = optional(f, "failure_rate", fat, 0, 1);
            if (!(latency > 0) && !(rate > 0)) {
                throw new IllegalArgumentException(fat + " sets no fault: give a latency_ms or a failure_rate above 0");
            }
            if (f.containsKey("device_fault") && !(f.getValue("device_fault") instanceof Boolean)) {
                throw new IllegalArgumentException(fat + ".device_fault must be true or false");
            }
            JsonObject fault = f.copy();
            fault.remove("model");
            return new Injection(model, version, backend, fault);
        });
        List<Clearing> clear = each(p, "clear", at, (c, cat) -> {
            only(c, cat, "model", "version", "backend");
            return new Clearing(string(c, "model", cat), version(c, cat),
                    c.containsKey("backend") ? string(c, "backend", cat) : null);
        });
        Expectation expect = Expectation.DEFAULT;
        if (p.containsKey("expect")) {
            String eat = at + ".expect";
            JsonObject e = object(p.getValue("expect"), eat);
            only(e, eat, "statuses", "min_ok_share", "max_ok_p95_ms", "recover_within_s", "at_least", "recover_from");
            Set<Integer> statuses = new LinkedHashSet<>();
            if (e.containsKey("statuses")) {
                JsonArray s = array(e, "statuses", eat);
                for (int i = 0; i < s.size(); i++) {
                    if (!(s.getValue(i) instanceof Integer code) || code < 100 || code > 599) {
                        throw new IllegalArgumentException(eat + ".statuses[" + i + "] must be an HTTP status, was " + s.getValue(i));
                    }
                    statuses.add(code);
                }
            } else {
                statuses.add(200);
            }
            Map<Integer, Integer> atLeast = new java.util.TreeMap<>();
            if (e.containsKey("at_least")) {
                JsonObject a = object(e.getValue("at_least"), eat + ".at_least");
                for (String k : a.fieldNames()) {
                    int code;
                    try {
                        code = Integer.parseInt(k);
                    } catch (NumberFormatException x) {
                        code = -1;
                    }
                    if (!statuses.contains(code)) {
                        throw new IllegalArgumentException(eat + ".at_least names '" + k + "', not a status the phase allows");
                    }
                    atLeast.put(code, (int) whole(a, k, eat + ".at_least", 1, 100_000_000, 0));
                }
            }
            Set<Integer> recoverFrom = new LinkedHashSet<>();
            if (e.containsKey("recover_from")) {
                JsonArray r = array(e, "recover_from", eat);
                for (int i = 0; i < r.size(); i++) {
                    if (!(r.getValue(i) instanceof Integer code) || !statuses.contains(code) || code == 200) {
                        throw new IllegalArgumentException(eat + ".recover_from[" + i + "] must be a status other than 200"
                                + " that the phase allows, was " + r.getValue(i));
                    }
                    recoverFrom.add(code);
                }
                if (!e.containsKey("recover_within_s")) {
                    throw new IllegalArgumentException(eat + ".recover_from needs recover_within_s");
                }
            }
            expect = new Expectation(Set.copyOf(statuses), optional(e, "min_ok_share", eat, 0, 1),
                    optional(e, "max_ok_p95_ms", eat, 0.001, 3_600_000), optional(e, "recover_within_s", eat, 0, seconds),
                    Map.copyOf(atLeast), Set.copyOf(recoverFrom));
            if (!statuses.contains(200) && (expect.minOkShare() > 0 || !Double.isNaN(expect.maxOkP95Millis())
                    || !Double.isNaN(expect.recoverWithinS()))) {
                throw new IllegalArgumentException(eat + " bounds the 200s (min_ok_share, max_ok_p95_ms or"
                        + " recover_within_s) but does not allow status 200: it could never pass");
            }
        }
        return new Phase(name, seconds, phaseRate, List.copyOf(admin), List.copyOf(inject), List.copyOf(clear), expect, shed);
    }

    /**
     * Each object of the array {@code key} (absent: none), parsed by {@code parse} with its path ({@code at.key[i]})
     * for error messages.
     */
    private static <T> List<T> each(JsonObject o, String key, String at,
                                    java.util.function.BiFunction<JsonObject, String, T> parse) {
        List<T> out = new ArrayList<>();
        if (o.containsKey(key)) {
            JsonArray a = array(o, key, at);
            for (int i = 0; i < a.size(); i++) {
                String path = at + "." + key + "[" + i + "]";
                out.add(parse.apply(object(a.getValue(i), path), path));
            }
        }
        return out;
    }

    private static AdminCall adminCall(JsonObject c, String at, boolean outer) {
        if (outer) {
            only(c, at, "method", "path", "body", "undo", "expect");
        } else {
            only(c, at, "method", "path", "body");
        }
        String method = string(c, "method", at);
        if (!ADMIN_METHODS.contains(method)) {
            throw new IllegalArgumentException(at + ".method must be one of " + ADMIN_METHODS + ", was " + method);
        }
        String path = string(c, "path", at);
        if (!INFERENCE_PATH.matcher(path).matches() || !path.startsWith("/admin/") || path.startsWith("/admin/chaos")
                || path.contains("/.")) {
            throw new IllegalArgumentException(at + ".path must be an /admin/ path (not /admin/chaos: the drill"
                    + " sets and clears faults itself), was '" + path + "'");
        }
        JsonObject body = c.containsKey("body") ? object(c.getValue("body"), at + ".body") : null;
        AdminCall undo = c.getValue("undo") != null ? adminCall(object(c.getValue("undo"), at + ".undo"), at + ".undo", false) : null;
        JsonObject expect = c.containsKey("expect") ? object(c.getValue("expect"), at + ".expect") : null;
        return new AdminCall(method, path, body, undo, expect);
    }

    private static String version(JsonObject o, String at) {
        if (!o.containsKey("version")) {
            return null;
        }
        String v = string(o, "version", at);
        if (!Versions.isVersion(v)) {
            throw new IllegalArgumentException(at + ".version must be a version such as 1.1.0, was '" + v + "'");
        }
        if (string(o, "model", at).equals("*")) {
            throw new IllegalArgumentException(at + ".version belongs to one model, not to '*'");
        }
        return v;
    }

    private static void only(JsonObject o, String at, String... keys) {
        Set<String> known = Set.of(keys);
        for (String k : o.fieldNames()) {
            if (!known.contains(k)) {
                throw new IllegalArgumentException(at + " has an unknown key '" + k + "' (known: " + String.join(", ", keys) + ")");
            }
        }
    }

    private static String string(JsonObject o, String key, String at) {
        if (!(o.getValue(key) instanceof String s) || s.isBlank()) {
            throw new IllegalArgumentException(at + "." + key + " must be a non-empty string");
        }
        return s;
    }

    private static JsonArray array(JsonObject o, String key, String at) {
        if (!(o.getValue(key) instanceof JsonArray a) || a.isEmpty()) {
            throw new IllegalArgumentException(at + "." + key + " must be a non-empty array");
        }
        return a;
    }

    private static JsonObject object(Object v, String at) {
        if (v instanceof JsonObject o) {
            return o;
        }
        if (v instanceof Map<?, ?> m) {
            @SuppressWarnings("unchecked")
            Map<String, Object> map = (Map<String, Object>) m;
            return new JsonObject(map);
        }
        throw new IllegalArgumentException(at + " must be a JSON object");
    }

    private static double required(JsonObject o, String key, String at, double min, double max) {
        if (o.getValue(key) == null) {
            throw new IllegalArgumentException(at + "." + key + " is required: a number from " + min + " to " + max);
        }
        return optional(o, key, at, min, max);
    }

    /** A number in [min, max], or NaN when the key is absent (an explicit null is refused). */
    private static double optional(JsonObject o, String key, String at, double min, double max) {
        Object v = o.getValue(key);
        if (v == null && !o.containsKey(key)) {
            return Double.NaN;
        }
        if (!(v instanceof Number n) || !Double.isFinite(n.doubleValue()) || n.doubleValue() < min || n.doubleValue() > max) {
            throw new IllegalArgumentException(at + "." + key + " must be a number from " + min + " to " + max + ", was " + v);
        }
        return n.doubleValue();
    }

    private static long whole(JsonObject o, String key, String at, long min, long max, long absent) {
        double v = optional(o, key, at, min, max);
        if (Double.isNaN(v)) {
            return absent;
        }
        if (v != Math.rint(v)) {
            throw new IllegalArgumentException(at + "." + key + " must be a whole number, was " + o.getValue(key));
        }
        return (long) v;
    }
}
