package io.weir.gateway.config;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Server configuration: one JSON file plus {@code WEIR_*} environment overrides, environment winning. With neither,
 * the server serves the built-in demo repository on 127.0.0.1:8080.
 *
 * <p>Each key has an environment variable: the key upper-cased with dots as underscores and a {@code WEIR_} prefix
 * ({@code http.port} → {@code WEIR_HTTP_PORT}). {@link #KEYS} is the reference (the README prints it).
 */
public record WeirConfig(
        String httpHost,
        int httpPort,
        String modelRepository,
        int cpuThreads,
        int queueCapacity,
        String rankModel,
        String moderateModel,
        int maxRankBodyBytes,
        int maxInferBodyBytes,
        int maxCandidates,
        int maxTextChars,
        boolean adminEnabled,
        String deprecatedApiVersion,
        String deprecatedApiSunset,
        String batchingPolicy,
        boolean gpuEnabled,
        String rolloutFile,
        String auditLog,
        boolean chaosEnabled,
        String embeddingIndexDir,
        int embeddingRefreshSeconds,
        double shedBudgetFraction,
        int shedMinLagMillis,
        double deadlineLagReserve,
        String adminToken,
        Cluster cluster) {

    /**
     * The replicas that share their rollouts (see {@code io.weir.gateway.cluster}). Empty {@code peers}: this replica
     * is alone and decides its own rollouts.
     *
     * @param peers      the other replicas' cluster addresses, {@code host:port}; a host name may stand for several
     *                   (a Kubernetes headless Service) and is resolved again at every sync
     * @param advertise  this replica's cluster address as its peers reach it (null without peers)
     * @param host       address the cluster API binds
     * @param port       port of the cluster API
     * @param token      secret the replicas present to each other
     * @param syncMillis how often a replica asks its peers for their state
     */
    public record Cluster(java.util.List<PeerAddress> peers, PeerAddress advertise, String host, int port, String token,
                          int syncMillis) {
        public boolean enabled() {
            return !peers.isEmpty();
        }

        @Override
        public String toString() {
            return "Cluster[peers=" + peers + ", advertise=" + advertise + ", port=" + port + ", token="
                    + (token.isEmpty() ? "" : "***") + "]";
        }
    }

    /** Every key with its default and meaning, in the order the README lists them. */
    public static final Map<String, String[]> KEYS = keys();

    private static Map<String, String[]> keys() {
        Map<String, String[]> k = new LinkedHashMap<>();
        k.put("http.host", new String[] {"127.0.0.1", "address to bind"});
        k.put("http.port", new String[] {"8080", "HTTP/1.1 and h2c port (0 picks a free one)"});
        k.put("model.repository", new String[] {"demo", "model repository directory; 'demo' extracts the built-in demo repository"});
        k.put("cpu.threads", new String[] {String.valueOf(Runtime.getRuntime().availableProcessors()), "threads running CPU inference"});
        k.put("queue.capacity", new String[] {"4096", "requests waiting per model version before RESOURCE_EXHAUSTED"});
        k.put("api.rank.model", new String[] {"ranker", "model behind POST /v1/rank:score"});
        k.put("api.moderate.model", new String[] {"moderation", "model behind POST /v1/moderate"});
        k.put("limits.rank.body.bytes", new String[] {"65536", "largest /v1 request body (413 above)"});
        k.put("limits.infer.body.bytes", new String[] {"8388608", "largest /v2 infer request body (413 above)"});
        k.put("limits.rank.candidates", new String[] {"50", "most candidates per rank request"});
        k.put("limits.moderate.text.chars", new String[] {"300", "longest moderation text, in characters"});
        k.put("admin.enabled", new String[] {"true", "serve /admin (bind to loopback or protect it)"});
        k.put("admin.token", new String[] {"", "when set, /admin answers only requests with 'Authorization: Bearer <token>' (401 otherwise)"});
        k.put("api.deprecated.version", new String[] {"v1beta1", "an older API prefix still served, with Deprecation and Sunset headers ('' to disable)"});
        k.put("api.deprecated.sunset", new String[] {"Wed, 30 Jun 2027 00:00:00 GMT", "the Sunset date announced for it"});
        k.put("batching.policy", new String[] {"", "override every model's batching: none, fixed, adaptive, or a JSON object such as {\"policy\":\"fixed\",\"max_queue_delay_us\":500} ('' keeps each model's)"});
        k.put("gpu.enabled", new String[] {"true", "use the CUDA backend when a GPU is present"});
        k.put("rollout.file", new String[] {"", "rollout config file, watched for changes ('' for none)"});
        k.put("audit.log", new String[] {"weir-audit.jsonl", "append-only log of rollout changes"});
        k.put("chaos.enabled", new String[] {"false", "install chaos fault-injection decorators (drills only)"});
        k.put("embedding.index.dir", new String[] {"", "GetSimilar index directory ('' = <repository>/embeddings, demo index generated if absent)"});
        k.put("embedding.index.refresh.seconds", new String[] {"60", "how often to look for a newer index file (0 = only on POST /admin/similar/refresh)"});
        k.put("http.shed.budget.fraction", new String[] {"0.35", "answer an inference request 429 at once when the event loop that read it runs behind by more than this fraction of its model's latency budget, and never less than http.shed.min.lag.ms (0 = never)"});
        k.put("http.shed.min.lag.ms", new String[] {"20", "the least event-loop lag that sheds, whatever the budget fraction gives (a lower bound for models with short budgets); raise it if one-off stalls (GC, JIT) shed at light load"});
        k.put("http.deadline.lag.reserve", new String[] {"0", "count this many times the event loop's lag, when it reads an inference request, against that request's deadline: the request waited about that long unseen in socket buffers, and its answer waits about as long to be written; a request whose x-weir-timeout-ms that uses up is answered 504 unparsed. Lowers the admitted p99 under overload at a goodput cost (0: off; docs/PERF.md, runs 113-115)"});
        k.put("cluster.peers", new String[] {"", "the other replicas' cluster addresses (host:port, comma-separated; a name standing for several addresses, such as a Kubernetes headless Service, is resolved at every sync). Set, the replicas share their rollouts: one leads and decides them (the first to start; it keeps leading while it answers), the others follow it and forward their rollout admin calls to it ('' = this replica decides its own)"});
        k.put("cluster.advertise", new String[] {"", "this replica's cluster address as its peers reach it (host:port; in Kubernetes $(POD_IP):8081); needed with cluster.peers"});
        k.put("cluster.host", new String[] {"", "address the cluster API binds ('' = http.host)"});
        k.put("cluster.port", new String[] {"8081", "port of the cluster API (replica to replica; keep it off the Service)"});
        k.put("cluster.token", new String[] {"", "secret the replicas present to each other on the cluster API; needed with cluster.peers"});
        k.put("cluster.sync.ms", new String[] {"1000", "how often a replica asks its peers for their state; a follower serves the leader's rollouts within about this long"});
        return java.util.Collections.unmodifiableMap(k);
    }

    public static WeirConfig defaults() {
        return from(new JsonObject(), Map.of());
    }

    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(WeirConfig.class.getName());

    private static String envName(String key) {
        return "WEIR_" + key.toUpperCase(Locale.ROOT).replace('.', '_');
    }

    /**
     * {@code WEIR_*} variables one or two edits (a letter added, dropped or changed; two letters swapped) away from a
     * setting's name, with the setting meant ({@code WEIR_HTTP_PROT
     * (did you mean WEIR_HTTP_PORT?)}). A misspelled file key is refused, but the environment carries other
     * {@code WEIR_*} variables (the launcher's, the scripts'), so an unknown one cannot be refused; one this close to a
     * setting is a typo that would otherwise leave the default in force without a word.
     */
    static java.util.List<String> suspectedTypos(Map<String, String> env) {
        java.util.List<String> out = new java.util.ArrayList<>();
        Set<String> names = new java.util.HashSet<>();
        KEYS.keySet().forEach(k -> names.add(envName(k)));
        for (String name : new java.util.TreeSet<>(env.keySet())) {
            if (!name.startsWith("WEIR_") || names.contains(name)) {
                continue;
            }
            for (String known : names) {
                if (editDistanceAtMost2(name, known)) {
                    out.add(name + " (did you mean " + known + "?)");
                    break;
                }
            }
        }
        return out;
    }

    private static boolean editDistanceAtMost2(String a, String b) {
        if (Math.abs(a.length() - b.length()) > 2) {
            return false;
        }
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            int rowMin = cur[0];
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
                rowMin = Math.min(rowMin, cur[j]);
            }
            if (rowMin > 2) {
                return false;
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()] <= 2;
    }

    /** Loads the file (if any) and applies the environment. */
    public static WeirConfig load(Path file, Map<String, String> env) throws IOException {
        JsonObject json = file == null ? new JsonObject() : new JsonObject(Files.readString(file));
        return from(json, env);
    }

    /** Builds a config from flat dotted keys ({@code {"http.port": 8080}}) or nested objects, then the environment. */
    public static WeirConfig from(JsonObject json, Map<String, String> env) {
        Map<String, String> v = new LinkedHashMap<>();
        KEYS.forEach((key, meta) -> v.put(key, meta[0]));
        flatten("", json, v);
        for (String key : KEYS.keySet()) {
            String envName = envName(key);
            if (env.containsKey(envName)) {
                v.put(key, env.get(envName));
            }
        }
        suspectedTypos(env).forEach(t -> LOG.warning("environment variable " + t + " is not a setting and is ignored"));
        for (String key : v.keySet()) {
            if (!KEYS.containsKey(key)) {
                throw new IllegalArgumentException("unknown configuration key '" + key + "'");
            }
        }
        return new WeirConfig(
                v.get("http.host"), intIn(v, "http.port", 0, 65535), v.get("model.repository"),
                intIn(v, "cpu.threads", 1, 1024), intIn(v, "queue.capacity", 1, 1 << 20),
                v.get("api.rank.model"), v.get("api.moderate.model"),
                intIn(v, "limits.rank.body.bytes", 1024, 1 << 30), intIn(v, "limits.infer.body.bytes", 1024, 1 << 30),
                intIn(v, "limits.rank.candidates", 1, 100_000), intIn(v, "limits.moderate.text.chars", 1, 1_000_000),
                bool(v, "admin.enabled"), v.get("api.deprecated.version"), v.get("api.deprecated.sunset"),
                policy(v.get("batching.policy")), bool(v, "gpu.enabled"), v.get("rollout.file"), v.get("audit.log"),
                bool(v, "chaos.enabled"), v.get("embedding.index.dir"), intIn(v, "embedding.index.refresh.seconds", 0, 86_400 * 7),
                fraction(v, "http.shed.budget.fraction"), intIn(v, "http.shed.min.lag.ms", 1, 60_000),
                doubleIn(v, "http.deadline.lag.reserve", 0, 4), v.get("admin.token"), cluster(v));
    }

    private static Cluster cluster(Map<String, String> v) {
        java.util.List<PeerAddress> peers = new java.util.ArrayList<>();
        for (String p : v.get("cluster.peers").split(",")) {
            if (!p.isBlank()) {
                peers.add(peerAddress("cluster.peers", p.trim()));
            }
        }
        String advertised = v.get("cluster.advertise").trim();
        String token = v.get("cluster.token");
        int port = intIn(v, "cluster.port", 1, 65535);
        int sync = intIn(v, "cluster.sync.ms", 50, 60_000);
        PeerAddress advertise = null;
        if (!peers.isEmpty()) {
            if (advertised.isEmpty()) {
                throw new IllegalArgumentException("'cluster.advertise' (this replica's host:port as its peers reach it) is needed with 'cluster.peers'");
            }
            advertise = peerAddress("cluster.advertise", advertised);
            if (advertise.port() != port) {
                throw new IllegalArgumentException("'cluster.advertise' (" + advertise + ") must name this replica's 'cluster.port' ("
                        + port + "): a replica tells itself apart from its peers by that address");
            }
            int httpPort = intIn(v, "http.port", 0, 65535);
            if (httpPort == port) {
                throw new IllegalArgumentException("'cluster.port' must differ from 'http.port' (" + port
                        + "): on one port the two servers would share the clients' connections");
            }
            if (token.isBlank()) {
                throw new IllegalArgumentException("'cluster.token' is needed with 'cluster.peers': the cluster API changes rollouts");
            }
        }
        return new Cluster(java.util.List.copyOf(peers), advertise, v.get("cluster.host").trim(), port, token, sync);
    }

    /** {@link PeerAddress#parse}, its complaint naming the key. */
    private static PeerAddress peerAddress(String key, String hostPort) {
        try {
            return PeerAddress.parse(hostPort);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + key + "' entries " + e.getMessage(), e);
        }
    }

    /** Keys whose value may itself be a JSON object: in the file that object is the value, not more keys. */
    private static final Set<String> VALUE_OBJECTS = Set.of("batching.policy");

    private static void flatten(String prefix, JsonObject json, Map<String, String> out) {
        for (String name : json.fieldNames()) {
            Object value = json.getValue(name);
            String key = prefix.isEmpty() ? name : prefix + "." + name;
            if (value instanceof JsonObject o && !VALUE_OBJECTS.contains(key)) {
                flatten(key, o, out);
            } else if (value instanceof JsonObject o) {
                out.put(key, o.encode());
            } else {
                out.put(key, String.valueOf(value));
            }
        }
    }

    private static int intIn(Map<String, String> v, String key, int min, int max) {
        try {
            int i = Integer.parseInt(v.get(key).trim());
            if (i < min || i > max) {
                throw new IllegalArgumentException("'" + key + "' must be in [" + min + ", " + max + "], was " + i);
            }
            return i;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + key + "' must be an integer, was '" + v.get(key) + "'");
        }
    }

    private static double fraction(Map<String, String> v, String key) {
        return doubleIn(v, key, 0, 1);
    }

    private static double doubleIn(Map<String, String> v, String key, double min, double max) {
        try {
            double d = Double.parseDouble(v.get(key).trim());
            if (!(d >= min && d <= max)) {
                throw new IllegalArgumentException("'" + key + "' must be in [" + fmt(min) + ", " + fmt(max) + "], was " + d);
            }
            return d;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("'" + key + "' must be a number, was '" + v.get(key) + "'");
        }
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? String.valueOf((long) d) : String.valueOf(d);
    }

    private static boolean bool(Map<String, String> v, String key) {
        return switch (v.get(key).trim().toLowerCase(Locale.ROOT)) {
            case "true", "1", "yes" -> true;
            case "false", "0", "no" -> false;
            default -> throw new IllegalArgumentException("'" + key + "' must be true or false, was '" + v.get(key) + "'");
        };
    }

    private static String policy(String p) {
        String s = p == null ? "" : p.trim();
        if (s.startsWith("{")) {
            JsonObject o;
            try {
                o = new JsonObject(s);
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("'batching.policy' is not a valid JSON object: " + e.getMessage());
            }
            policy(String.valueOf(o.getValue("policy")));
            return o.encode();
        }
        s = s.toLowerCase(Locale.ROOT);
        if (!s.isEmpty() && !s.equals("none") && !s.equals("fixed") && !s.equals("adaptive")) {
            throw new IllegalArgumentException("'batching.policy' must be none, fixed, adaptive or a JSON object, was '" + p + "'");
        }
        return s;
    }

    /** The batching override as the batcher's JSON ({@code {"policy": ...}}), or null to keep each model's own. */
    public JsonObject batchingOverride() {
        if (batchingPolicy.isEmpty()) {
            return null;
        }
        return batchingPolicy.startsWith("{") ? new JsonObject(batchingPolicy) : new JsonObject().put("policy", batchingPolicy);
    }

    public WeirConfig withHttpPort(int port) {
        return new WeirConfig(httpHost, port, modelRepository, cpuThreads, queueCapacity, rankModel, moderateModel,
                maxRankBodyBytes, maxInferBodyBytes, maxCandidates, maxTextChars, adminEnabled, deprecatedApiVersion,
                deprecatedApiSunset, batchingPolicy, gpuEnabled, rolloutFile, auditLog, chaosEnabled, embeddingIndexDir,
                embeddingRefreshSeconds, shedBudgetFraction, shedMinLagMillis, deadlineLagReserve, adminToken, cluster);
    }

    /** The settings that say which server this is, the admin token masked: a config may be logged. */
    @Override
    public String toString() {
        return "WeirConfig[httpHost=" + httpHost + ", httpPort=" + httpPort + ", modelRepository=" + modelRepository
                + ", cpuThreads=" + cpuThreads + ", adminEnabled=" + adminEnabled
                + ", adminToken=" + (adminToken == null || adminToken.isEmpty() ? "" : "***")
                + ", batchingPolicy=" + batchingPolicy + ", rolloutFile=" + rolloutFile + ", auditLog=" + auditLog
                + (cluster.enabled() ? ", cluster=" + cluster : "") + "]";
    }
}
