package io.weir.router;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.WeirException;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RolloutConfigTest {
    private final FixedCatalog catalog = new FixedCatalog().load("moderation", "1.0.0", "1.1.0", "2.0.0");

    static JsonObject full() {
        return new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", 5)
                .put("shadow", "2.0.0").put("shadow_sample_rate", 0.1).put("force_header", "x-variant")
                .put("allow_users", new JsonArray().add("qa")).put("deny_users", new JsonArray().add("vip"))
                .put("salt", "s1")
                .put("stages", new JsonArray()
                        .add(new JsonObject().put("name", "shadow").put("canary_weight", "shadow").put("min_duration_s", 60).put("min_requests", 10))
                        .add(new JsonObject().put("name", "5%").put("canary_weight", 5).put("min_duration_s", 60).put("min_requests", 10)))
                .put("gates", new JsonObject().put("max_error_rate", 0.05).put("max_p95_ms", null).put("golden", true))
                .put("window_s", 30).put("paused", true).put("stage", 1).put("status", "running");
    }

    @Test
    void roundTripsThroughJson() {
        RolloutConfig c = RolloutConfig.fromJson("moderation", full());
        assertThat(c.stages()).hasSize(2);
        assertThat(c.stages().getFirst().shadow()).isTrue();
        assertThat(c.gates().maxErrorRate()).isEqualTo(0.05);
        assertThat(c.gates().maxP95Ms()).as("explicit null: the model's budget").isNull();
        assertThat(c.gates().maxPsi()).as("absent: default").isEqualTo(RolloutConfig.Gates.DEFAULTS.maxPsi());
        assertThat(c.canaryBasisPoints()).isEqualTo(500);
        assertThat(RolloutConfig.fromJson("moderation", c.toJson())).isEqualTo(c);
        assertThat(c.problems(catalog)).isEmpty();
    }

    @Test
    void refusesUnknownFieldsAndWrongTypes() {
        assertThatThrownBy(() -> RolloutConfig.fromJson("moderation", full().put("canary_wieght", 5)))
                .isInstanceOf(WeirException.class).hasMessageContaining("unknown field 'canary_wieght'");
        assertThatThrownBy(() -> RolloutConfig.fromJson("moderation", full().put("canary_weight", "ten")))
                .isInstanceOf(WeirException.class).hasMessageContaining("canary_weight must be a number");
        assertThatThrownBy(() -> RolloutConfig.fromJson("other", full().put("model", "moderation")))
                .isInstanceOf(WeirException.class).hasMessageContaining("names model 'moderation'");
    }

    @Test
    void reportsEveryProblemNamingTheField() {
        RolloutConfig bad = RolloutConfig.fromJson("moderation", new JsonObject().put("primary", "1.0.0")
                .put("canary", "9.9.9").put("canary_weight", 101).put("shadow_sample_rate", 1.5)
                .put("allow_users", new JsonArray().add("x")).put("deny_users", new JsonArray().add("x"))
                .put("stages", new JsonArray()
                        .add(new JsonObject().put("name", "a").put("canary_weight", 50))
                        .add(new JsonObject().put("name", "b").put("canary_weight", 10)))
                .put("gates", new JsonObject().put("max_error_rate", 2)));
        assertThat(bad.problems(catalog)).anySatisfy(p -> assertThat(p).contains("canary_weight must be between 0 and 100"))
                .anySatisfy(p -> assertThat(p).contains("canary version '9.9.9' is not loaded"))
                .anySatisfy(p -> assertThat(p).contains("shadow_sample_rate"))
                .anySatisfy(p -> assertThat(p).contains("both allowed and denied"))
                .anySatisfy(p -> assertThat(p).contains("stages[1] lowers"))
                .anySatisfy(p -> assertThat(p).contains("gates.max_error_rate"));
        assertThat(RolloutConfig.primaryOnly("ghost", "1").problems(catalog)).containsExactly("model 'ghost' has no loaded version");
        assertThat(RolloutConfig.fromJson("moderation", new JsonObject()).problems(catalog)).contains("primary is required");
        assertThat(RolloutConfig.fromJson("moderation", new JsonObject().put("primary", "1.0.0").put("canary_weight", -1))
                .problems(catalog)).anySatisfy(p -> assertThat(p).contains("between 0 and 100"));
        assertThat(RolloutConfig.fromJson("moderation", new JsonObject().put("primary", "1.0.0").put("canary_weight", 3))
                .problems(catalog)).anySatisfy(p -> assertThat(p).contains("no canary version is set"));
        assertThat(RolloutConfig.fromJson("moderation", new JsonObject().put("primary", "1.0.0").put("canary", "7"))
                .problems(null)).as("structure only").isEmpty();
    }
}
