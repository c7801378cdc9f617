package io.weir.gateway;

import io.vertx.core.json.JsonObject;
import io.weir.gateway.config.WeirConfig;
import org.junit.jupiter.api.Test;
import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The files under {@code deploy/} against the server they deploy, since no Docker engine or cluster runs here: the
 * Kubernetes config is one the server accepts, the pod and the image set what every Weir JVM needs, the probes ask
 * the server's own health routes, every metric an alert rule or a dashboard panel reads is one a running server
 * exports, and every alert has its runbook section.
 */
class DeployManifestsTest {
    private static final Path DEPLOY = Path.of("..", "deploy").toAbsolutePath().normalize();

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> yamlDocuments(Path file) throws IOException {
        List<Map<String, Object>> docs = new ArrayList<>();
        for (Object doc : new Yaml().loadAll(Files.readString(file))) {
            docs.add((Map<String, Object>) doc);
        }
        return docs;
    }

    private static Map<String, Object> kind(List<Map<String, Object>> docs, String kind) {
        return docs.stream().filter(d -> kind.equals(d.get("kind"))).findFirst().orElseThrow();
    }

    @SuppressWarnings("unchecked")
    private static <T> T at(Object node, Object... path) {
        Object n = node;
        for (Object step : path) {
            n = step instanceof Integer i ? ((List<Object>) n).get(i) : ((Map<String, Object>) n).get(step);
        }
        return (T) n;
    }

    private static String envName(String key) {
        return "WEIR_" + key.toUpperCase(Locale.ROOT).replace('.', '_');
    }

    /**
     * The pod's environment as the kubelet gives it: a secret's value stands in as {@code <secret name/key>}, the pod's
     * IP as 10.1.2.3, and {@code $(VAR)} expands an earlier variable.
     */
    private static Map<String, String> podEnvironment(Map<String, Object> container) {
        Map<String, String> env = new java.util.LinkedHashMap<>();
        List<Map<String, Object>> podEnv = at(container, "env");
        for (Map<String, Object> e : podEnv) {
            String value;
            if (e.containsKey("valueFrom")) {
                Map<String, Object> from = at(e, "valueFrom");
                Map<String, Object> secret = at(from, "secretKeyRef");
                String field = from.get("fieldRef") == null ? null : at(from, "fieldRef", "fieldPath");
                value = secret != null ? "<secret " + secret.get("name") + "/" + secret.get("key") + ">"
                        : "status.podIP".equals(field) ? "10.1.2.3" : null;
                assertThat(value).as("env %s comes from a secret or the pod's IP", e.get("name")).isNotNull();
            } else {
                value = String.valueOf(e.get("value"));
            }
            Matcher ref = Pattern.compile("\\$\\(([A-Z_]+)\\)").matcher(value);
            StringBuilder expanded = new StringBuilder();
            while (ref.find()) {
                assertThat(env).as("$(%s) is defined before it is used", ref.group(1)).containsKey(ref.group(1));
                ref.appendReplacement(expanded, Matcher.quoteReplacement(env.get(ref.group(1))));
            }
            ref.appendTail(expanded);
            env.put((String) e.get("name"), expanded.toString());
        }
        return env;
    }

    @Test
    void theKubernetesPodRunsAConfigTheServerAcceptsWithTheJvmItNeeds() throws IOException {
        List<Map<String, Object>> docs = yamlDocuments(DEPLOY.resolve("k8s/weir.yaml"));
        String weirJson = at(kind(docs, "ConfigMap"), "data", "weir.json");
        Map<String, Object> container = at(kind(docs, "Deployment"), "spec", "template", "spec", "containers", 0);
        Map<String, String> env = podEnvironment(container);
        WeirConfig config = WeirConfig.from(new JsonObject(weirJson), env);
        assertThat(config.adminEnabled()).isTrue();
        assertThat(config.adminToken()).as("the admin API behind a Service needs a token").startsWith("<secret ");
        assertThat(config.httpPort()).isEqualTo(at(container, "ports", 0, "containerPort"));
        assertThat(env).containsEntry("ORT_DISABLE_TELEMETRY", "1");
        Object cpuRequest = at(container, "resources", "requests", "cpu");
        String cpus = String.valueOf(cpuRequest);
        assertThat(env.get("JAVA_TOOL_OPTIONS")).contains("-XX:ActiveProcessorCount=" + cpus);
        assertThat((Object) at(container, "resources", "requests", "memory"))
                .isEqualTo(at(container, "resources", "limits", "memory"));
        assertThat((Object) at(container, "lifecycle", "preStop")).as("a drain before SIGTERM").isNotNull();
        for (String probe : List.of("livenessProbe", "readinessProbe", "startupProbe")) {
            assertThat((String) at(container, probe, "httpGet", "path")).as(probe)
                    .isIn("/v2/health/live", "/v2/health/ready");
        }
        assertThat((String) at(container, "readinessProbe", "httpGet", "path")).isEqualTo("/v2/health/ready");
        // what a replica writes lives on a volume: a container's restart keeps its rollouts and their note, and the
        // audit log
        List<Map<String, Object>> mounts = at(container, "volumeMounts");
        for (String written : List.of(config.rolloutFile(), config.auditLog())) {
            assertThat(written).as("a file the replica writes").isNotBlank();
            assertThat(mounts.stream().filter(m -> Path.of(written).startsWith(Path.of((String) m.get("mountPath"))))
                    .map(m -> (String) m.get("name")).toList()).as(written).containsExactly("state");
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void theReplicasFindEachOtherOnAClusterPortTheServiceDoesNotPublish() throws IOException {
        List<Map<String, Object>> docs = yamlDocuments(DEPLOY.resolve("k8s/weir.yaml"));
        Map<String, Object> deployment = kind(docs, "Deployment");
        Map<String, Object> container = at(deployment, "spec", "template", "spec", "containers", 0);
        WeirConfig.Cluster cluster = WeirConfig.from(new JsonObject((String) at(kind(docs, "ConfigMap"), "data", "weir.json")),
                podEnvironment(container)).cluster();
        assertThat(cluster.enabled()).as("%s replicas share their rollouts", (Object) at(deployment, "spec", "replicas")).isTrue();
        assertThat(cluster.token()).startsWith("<secret ");
        Map<String, Integer> containerPorts = new HashMap<>();
        for (Map<String, Object> p : (List<Map<String, Object>>) at(container, "ports")) {
            containerPorts.put((String) p.get("name"), (Integer) p.get("containerPort"));
        }
        assertThat(containerPorts.get("cluster")).isEqualTo(cluster.port());
        assertThat(cluster.advertise()).hasToString("10.1.2.3:" + cluster.port());

        Map<String, Object> labels = at(deployment, "spec", "template", "metadata", "labels");
        List<Map<String, Object>> services = docs.stream().filter(d -> "Service".equals(d.get("kind"))).toList();
        String peerHost = cluster.peers().getFirst().host();
        int peerPort = cluster.peers().getFirst().port();
        Map<String, Object> peers = services.stream().filter(s -> peerHost.equals(at(s, "metadata", "name"))).findFirst().orElseThrow();
        assertThat((Object) at(peers, "spec", "clusterIP")).as("headless: one address per pod").isEqualTo("None");
        assertThat((Object) at(peers, "spec", "selector")).isEqualTo(labels);
        assertThat((Object) at(peers, "spec", "ports", 0, "port")).isEqualTo(peerPort);
        assertThat((Object) at(peers, "spec", "ports", 0, "targetPort")).isEqualTo("cluster");
        for (Map<String, Object> s : services) {
            if (s != peers) {
                for (Map<String, Object> p : (List<Map<String, Object>>) at(s, "spec", "ports")) {
                    assertThat(p.get("targetPort")).as("the cluster API stays off the Service").isNotEqualTo("cluster");
                    assertThat(p.get("targetPort")).isNotEqualTo(cluster.port());
                }
            }
        }
        Map<String, Object> policy = kind(docs, "NetworkPolicy");
        assertThat((Object) at(policy, "spec", "podSelector", "matchLabels")).isEqualTo(labels);
        List<Map<String, Object>> ingress = at(policy, "spec", "ingress");
        int clusterRules = 0;
        for (Map<String, Object> rule : ingress) {
            List<Map<String, Object>> ports = (List<Map<String, Object>>) rule.get("ports");
            assertThat(ports).as("a rule without ports would open every port, the cluster's too").isNotEmpty();
            boolean opensCluster = ports.stream().anyMatch(p -> "cluster".equals(p.get("port"))
                    || Integer.valueOf(cluster.port()).equals(p.get("port")));
            if (opensCluster) {
                clusterRules++;
                assertThat((Object) at(rule, "from", 0, "podSelector", "matchLabels")).as("only Weir pods reach the cluster port")
                        .isEqualTo(labels);
                assertThat((List<Object>) rule.get("from")).hasSize(1);
            }
        }
        assertThat(clusterRules).as("one rule, and only it, opens the cluster port").isEqualTo(1);
    }

    @Test
    void drainsLeaveAReplicaWithTheRolloutsAndTheReplicasPreferDifferentNodes() throws IOException {
        List<Map<String, Object>> docs = yamlDocuments(DEPLOY.resolve("k8s/weir.yaml"));
        Map<String, Object> deployment = kind(docs, "Deployment");
        Map<String, Object> labels = at(deployment, "spec", "template", "metadata", "labels");
        int replicas = at(deployment, "spec", "replicas");
        Map<String, Object> budget = kind(docs, "PodDisruptionBudget");
        assertThat((Object) at(budget, "spec", "selector", "matchLabels")).isEqualTo(labels);
        int minAvailable = at(budget, "spec", "minAvailable");
        assertThat(minAvailable).as("at least one replica stays, and a drain can still move the others")
                .isBetween(1, replicas - 1);
        Map<String, Object> spread = at(deployment, "spec", "template", "spec", "topologySpreadConstraints", 0);
        assertThat(spread.get("topologyKey")).isEqualTo("kubernetes.io/hostname");
        assertThat((Object) at(spread, "labelSelector", "matchLabels")).isEqualTo(labels);
    }

    @Test
    void theImageNeverLetsOnnxRuntimePhoneHomeAndSetsOnlyKnownSettings() throws IOException {
        String dockerfile = Files.readString(DEPLOY.resolve("Dockerfile"));
        assertThat(dockerfile).contains("ORT_DISABLE_TELEMETRY=1")
                .containsPattern("ENTRYPOINT .*--enable-native-access=ALL-UNNAMED")
                .containsPattern("ENTRYPOINT .*--sun-misc-unsafe-memory-access=allow")
                .containsPattern("(?m)^WORKDIR /var/lib/weir$");
        Set<String> known = new LinkedHashSet<>();
        WeirConfig.KEYS.keySet().forEach(k -> known.add(envName(k)));
        Matcher m = Pattern.compile("\\b(WEIR_[A-Z0-9_]+)=").matcher(dockerfile);
        int settings = 0;
        while (m.find()) {
            assertThat(known).as("a WEIR_ setting the server reads").contains(m.group(1));
            settings++;
        }
        assertThat(settings).isGreaterThanOrEqualTo(3);
    }

    /** Every alert rule's expression, by alert name. */
    private static Map<String, String> alertExpressions() throws IOException {
        Map<String, String> exprs = new java.util.LinkedHashMap<>();
        List<Map<String, Object>> groups = at(yamlDocuments(DEPLOY.resolve("alerts/weir-rules.yaml")).getFirst(), "groups");
        for (Map<String, Object> group : groups) {
            List<Map<String, Object>> rules = at(group, "rules");
            for (Map<String, Object> rule : rules) {
                exprs.put((String) rule.get("alert"), (String) rule.get("expr"));
            }
        }
        return exprs;
    }

    /** Every panel query of the Grafana dashboard. */
    private static List<String> dashboardExpressions() throws IOException {
        JsonObject dashboard = new JsonObject(Files.readString(DEPLOY.resolve("dashboards/weir-overview.json")));
        List<String> exprs = new ArrayList<>();
        for (Object panel : dashboard.getJsonArray("panels")) {
            for (Object target : ((JsonObject) panel).getJsonArray("targets")) {
                exprs.add(((JsonObject) target).getString("expr"));
            }
        }
        return exprs;
    }

    @Test
    void everyAlertHasItsRunbookSection() throws IOException {
        String runbook = Files.readString(DEPLOY.resolve("RUNBOOK.md"));
        List<Map<String, Object>> groups = at(yamlDocuments(DEPLOY.resolve("alerts/weir-rules.yaml")).getFirst(), "groups");
        int alerts = 0;
        for (Map<String, Object> group : groups) {
            List<Map<String, Object>> rules = at(group, "rules");
            for (Map<String, Object> rule : rules) {
                String name = (String) rule.get("alert");
                assertThat(runbook).as("a runbook section for " + name).contains("\n## " + name + "\n");
                assertThat((String) at(rule, "annotations", "runbook_url")).isEqualTo("deploy/RUNBOOK.md#" + name.toLowerCase(Locale.ROOT));
                alerts++;
            }
        }
        assertThat(alerts).isGreaterThanOrEqualTo(5);
    }

    /**
     * Counters Micrometer registers on their first increment, so a fresh server's scrape lacks them: a query may read
     * them if the meter is registered under that name in the main sources.
     */
    private static final Map<String, String> FIRST_EVENT_COUNTERS = Map.of(
            "weir_http_shed_total", "\"weir.http.shed\"",
            "weir_batcher_rejections_total", "\"weir.batcher.rejections\"",
            "weir_batcher_fallbacks_total", "\"weir.batcher.fallbacks\"",
            "weir_batcher_timeouts_total", "\"weir.batcher.timeouts\"");

    @Test
    void everyMetricAnAlertOrTheDashboardReadsIsOneARunningServerExports() throws Exception {
        Map<String, String> alerts = alertExpressions();
        assertThat(alerts).hasSizeGreaterThanOrEqualTo(5);
        List<String> panels = dashboardExpressions();
        assertThat(panels).hasSizeGreaterThanOrEqualTo(10);
        List<String> exprs = new ArrayList<>(alerts.values());
        exprs.addAll(panels);

        int clusterPort;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
            clusterPort = socket.getLocalPort();
        }
        // a cluster of one (its peer list names only itself), so that the cluster gauges are there as on a real pod
        String self = "127.0.0.1:" + clusterPort;
        WeirServer server = TestServers.start(null, Map.of("cluster.peers", self, "cluster.advertise", self,
                "cluster.port", clusterPort, "cluster.token", "manifest-test", "cluster.sync.ms", 50));
        try {
            HttpClient http = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + server.port();
            // One answered request a route, so that the request timer has its series (Micrometer registers on use).
            Map<String, String> bodies = Map.of(
                    "/v1/rank:score", "{\"user_id\":\"u\",\"candidates\":[{\"item_id\":\"a\",\"features\":{\"price\":3,\"category\":\"toys\"}}]}",
                    "/v1/moderate", "{\"text\":\"hello\"}");
            for (Map.Entry<String, String> b : bodies.entrySet()) {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base + b.getKey()))
                        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(b.getValue()))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertThat(r.statusCode()).as(b.getKey()).isEqualTo(200);
            }
            String scrape = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            String sources = mainSources();

            Pattern selector = Pattern.compile("(weir_[a-z0-9_]+)(\\{([^}]*)})?");
            Pattern label = Pattern.compile("([a-z_]+)(=~?)\"([^\"]*)\"");
            int read = 0;
            for (String expr : exprs) {
                Matcher s = selector.matcher(expr);
                while (s.find()) {
                    read++;
                    String name = s.group(1);
                    if (FIRST_EVENT_COUNTERS.containsKey(name)) {
                        assertThat(sources).as("%s registered as %s, read by: %s", name, FIRST_EVENT_COUNTERS.get(name), expr)
                                .contains(FIRST_EVENT_COUNTERS.get(name));
                        continue;
                    }
                    List<String> wanted = new ArrayList<>();
                    if (s.group(3) != null) {
                        Matcher l = label.matcher(s.group(3));
                        while (l.find()) {
                            // A route is there once it served; an error code's series only once that error happened,
                            // so for those, and for any regex matcher, the label itself is what must exist.
                            boolean exactRoute = l.group(1).equals("route") && l.group(2).equals("=");
                            if (l.group(1).equals("route") && !exactRoute) {
                                for (String alternative : l.group(3).split("\\|")) {
                                    assertThat(sources).as("route %s, read by: %s", alternative, expr)
                                            .contains("named(\"" + alternative + "\"");
                                }
                            }
                            wanted.add(exactRoute ? l.group(1) + "=\"" + l.group(3) + "\"" : l.group(1) + "=\"");
                        }
                    }
                    assertThat(scrape.lines().filter(line -> line.startsWith(name + "{") || line.startsWith(name + " "))
                            .filter(line -> wanted.stream().allMatch(line::contains)))
                            .as("%s%s, read by: %s", name, wanted, expr.strip()).isNotEmpty();
                }
            }
            assertThat(read).isGreaterThan(exprs.size());
        } finally {
            server.close();
        }
    }

    private static String mainSources() throws IOException {
        StringBuilder all = new StringBuilder();
        Path root = DEPLOY.getParent();
        for (String module : List.of("gateway", "router", "batcher", "runtime")) {
            try (var files = Files.walk(root.resolve(module).resolve("src/main/java"))) {
                for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                    all.append(Files.readString(f));
                }
            }
        }
        return all.toString();
    }
}
