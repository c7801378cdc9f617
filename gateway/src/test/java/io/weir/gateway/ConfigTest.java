package io.weir.gateway;

import io.vertx.core.json.JsonObject;
import io.weir.gateway.config.WeirConfig;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConfigTest {

    @Test
    void defaultsServeTheDemoRepositoryOnLoopback8080() {
        WeirConfig c = WeirConfig.defaults();
        assertThat(c.httpHost()).isEqualTo("127.0.0.1");
        assertThat(c.httpPort()).isEqualTo(8080);
        assertThat(c.modelRepository()).isEqualTo("demo");
        assertThat(c.maxCandidates()).isEqualTo(50);
        assertThat(c.maxRankBodyBytes()).isEqualTo(65536);
        assertThat(c.maxTextChars()).isEqualTo(300);
    }

    @Test
    void environmentOverridesTheFileWhichOverridesDefaults() {
        JsonObject file = new JsonObject().put("http", new JsonObject().put("port", 9000).put("host", "0.0.0.0")).put("cpu.threads", 3);
        WeirConfig c = WeirConfig.from(file, Map.of("WEIR_HTTP_PORT", "9100", "WEIR_BATCHING_POLICY", "fixed"));
        assertThat(c.httpPort()).isEqualTo(9100);
        assertThat(c.httpHost()).isEqualTo("0.0.0.0");
        assertThat(c.cpuThreads()).isEqualTo(3);
        assertThat(c.batchingPolicy()).isEqualTo("fixed");
    }

    @Test
    void badValuesAndUnknownKeysAreRejectedWithTheKeyNamed() {
        assertThatThrownBy(() -> WeirConfig.from(new JsonObject(), Map.of("WEIR_HTTP_PORT", "eighty")))
                .hasMessageContaining("http.port");
        assertThatThrownBy(() -> WeirConfig.from(new JsonObject().put("http.prot", 1), Map.of()))
                .hasMessageContaining("unknown configuration key 'http.prot'");
        assertThatThrownBy(() -> WeirConfig.from(new JsonObject(), Map.of("WEIR_BATCHING_POLICY", "magic")))
                .hasMessageContaining("batching.policy");
        assertThatThrownBy(() -> WeirConfig.from(new JsonObject(), Map.of("WEIR_BATCHING_POLICY", "{\"policy\":\"magic\"}")))
                .hasMessageContaining("batching.policy");
        assertThatThrownBy(() -> WeirConfig.from(new JsonObject(), Map.of("WEIR_HTTP_SHED_BUDGET_FRACTION", "1.5")))
                .hasMessageContaining("http.shed.budget.fraction");
        assertThatThrownBy(() -> WeirConfig.from(new JsonObject(), Map.of("WEIR_HTTP_SHED_BUDGET_FRACTION", "half")))
                .hasMessageContaining("http.shed.budget.fraction");
        assertThat(WeirConfig.defaults().shedBudgetFraction()).isEqualTo(0.35);
        assertThat(WeirConfig.from(new JsonObject(), Map.of("WEIR_HTTP_SHED_BUDGET_FRACTION", "0")).shedBudgetFraction()).isZero();
        assertThat(WeirConfig.defaults().shedMinLagMillis()).isEqualTo(20);
        assertThat(WeirConfig.from(new JsonObject().put("http", new JsonObject().put("shed", new JsonObject()
                .put("min", new JsonObject().put("lag", new JsonObject().put("ms", 15))))), Map.of()).shedMinLagMillis())
                .isEqualTo(15);
        assertThat(WeirConfig.from(new JsonObject(), Map.of("WEIR_HTTP_SHED_MIN_LAG_MS", "20")).shedMinLagMillis()).isEqualTo(20);
        assertThat(WeirConfig.defaults().deadlineLagReserve()).isZero();
        assertThat(WeirConfig.from(new JsonObject(), Map.of("WEIR_HTTP_DEADLINE_LAG_RESERVE", "2")).deadlineLagReserve()).isEqualTo(2);
        assertThatThrownBy(() -> WeirConfig.from(new JsonObject(), Map.of("WEIR_HTTP_DEADLINE_LAG_RESERVE", "-1")))
                .hasMessage("'http.deadline.lag.reserve' must be in [0, 4], was -1.0");
        assertThatThrownBy(() -> WeirConfig.from(new JsonObject(), Map.of("WEIR_HTTP_SHED_MIN_LAG_MS", "0")))
                .hasMessageContaining("http.shed.min.lag.ms");
    }

    @Test
    void aClusterNeedsThisReplicasAddressAndASecretAndTakesOnlyHostPortPeers() {
        assertThat(WeirConfig.defaults().cluster().enabled()).isFalse();
        JsonObject cluster = new JsonObject().put("cluster", new JsonObject().put("peers", "weir-peers:8081, 10.0.0.7:8081,[fd00::1]:8081")
                .put("advertise", "10.0.0.5:8081").put("token", "s3cret"));
        WeirConfig.Cluster c = WeirConfig.from(cluster, Map.of()).cluster();
        assertThat(c.enabled()).isTrue();
        assertThat(c.peers()).extracting(Object::toString)
                .containsExactly("weir-peers:8081", "10.0.0.7:8081", "[fd00:0:0:0:0:0:0:1]:8081");
        assertThat(c.peers().get(2).host()).as("unbracketed, for the resolver and the client").isEqualTo("fd00:0:0:0:0:0:0:1");
        assertThat(c.port()).isEqualTo(8081);
        assertThat(c.syncMillis()).isEqualTo(1000);
        assertThat(WeirConfig.from(cluster, Map.of()).toString()).contains("token=***").doesNotContain("s3cret");

        assertThatThrownBy(() -> WeirConfig.from(cluster.copy().put("cluster", cluster.getJsonObject("cluster").copy()
                .put("advertise", "")), Map.of())).hasMessageContaining("'cluster.advertise'");
        assertThatThrownBy(() -> WeirConfig.from(cluster, Map.of("WEIR_CLUSTER_TOKEN", " ")))
                .hasMessageContaining("'cluster.token' is needed");
        assertThatThrownBy(() -> WeirConfig.from(cluster, Map.of("WEIR_CLUSTER_PEERS", "weir-peers")))
                .hasMessageContaining("'cluster.peers' entries must be host:port");
        // $(POD_IP):8081 on an IPv6 cluster: no brackets; written as the resolver writes the pods' addresses
        assertThat(WeirConfig.from(cluster, Map.of("WEIR_CLUSTER_ADVERTISE", "fd00::5:8081")).cluster().advertise())
                .hasToString("[fd00:0:0:0:0:0:0:5]:8081");
        assertThat(WeirConfig.from(cluster, Map.of("WEIR_CLUSTER_PEERS", "Weir-Peers:8081")).cluster().peers())
                .extracting(Object::toString).containsExactly("weir-peers:8081");
        assertThatThrownBy(() -> WeirConfig.from(cluster, Map.of("WEIR_CLUSTER_PEERS", "fd00::zz:8081")))
                .hasMessageContaining("'cluster.peers' entries must be host:port");
        assertThatThrownBy(() -> WeirConfig.from(cluster, Map.of("WEIR_CLUSTER_ADVERTISE", "10.0.0.5:99999")))
                .hasMessageContaining("'cluster.advertise'");
        assertThatThrownBy(() -> WeirConfig.from(cluster, Map.of("WEIR_CLUSTER_ADVERTISE", "10.0.0.5:9000")))
                .hasMessageContaining("must name this replica's 'cluster.port'");
        assertThatThrownBy(() -> WeirConfig.from(cluster, Map.of("WEIR_HTTP_PORT", "8081")))
                .hasMessageContaining("'cluster.port' must differ from 'http.port'");
        assertThatThrownBy(() -> WeirConfig.from(cluster, Map.of("WEIR_CLUSTER_SYNC_MS", "5")))
                .hasMessageContaining("cluster.sync.ms");
    }

    @Test
    void batchingOverrideTakesAPolicyNameOrAFullJsonObject() {
        assertThat(WeirConfig.defaults().batchingOverride()).isNull();
        assertThat(WeirConfig.from(new JsonObject(), Map.of("WEIR_BATCHING_POLICY", "none")).batchingOverride())
                .isEqualTo(new JsonObject().put("policy", "none"));
        JsonObject fixed = WeirConfig.from(new JsonObject(), Map.of("WEIR_BATCHING_POLICY",
                "{\"policy\":\"fixed\",\"max_queue_delay_us\":500}")).batchingOverride();
        assertThat(fixed.getString("policy")).isEqualTo("fixed");
        assertThat(fixed.getInteger("max_queue_delay_us")).isEqualTo(500);
    }

    /** In the file the object form is a JSON value, dotted or nested, not a group of keys to flatten. */
    @Test
    void batchingOverrideMayBeAJsonObjectInTheFileDottedOrNested() {
        JsonObject policy = new JsonObject().put("policy", "fixed").put("max_queue_delay_us", 500);
        assertThat(WeirConfig.from(new JsonObject().put("batching.policy", policy.copy()), Map.of()).batchingOverride())
                .isEqualTo(policy);
        assertThat(WeirConfig.from(new JsonObject().put("batching", new JsonObject().put("policy", policy.copy())), Map.of())
                .batchingOverride()).isEqualTo(policy);
        assertThatThrownBy(() -> WeirConfig.from(new JsonObject().put("batching.policy", new JsonObject().put("policy", "magic")), Map.of()))
                .hasMessageContaining("batching.policy");
    }
}
