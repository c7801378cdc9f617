package io.weir.router;

import io.vertx.core.json.JsonObject;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The assembled module as the gateway uses it: config file, admin operations, audit file, ticks. */
class RolloutsTest {
    @TempDir
    Path dir;

    private final ManualTicker ticker = new ManualTicker();
    private final FixedCatalog catalog = new FixedCatalog().load("moderation", "1.0.0", "1.1.0", "2.0.0");
    private Path configFile;
    private Path auditFile;
    private Rollouts rollouts;

    private static JsonObject file(double weight) {
        return new JsonObject().put("models", new JsonObject().put("moderation", new JsonObject()
                .put("primary", "1.0.0").put("canary", "1.1.0").put("canary_weight", weight)));
    }

    @BeforeEach
    void setUp() throws IOException {
        configFile = dir.resolve("rollouts.json");
        auditFile = dir.resolve("audit.jsonl");
        Files.writeString(configFile, file(0).encodePrettily());
        rollouts = Rollouts.builder(catalog, new ScriptedDispatcher(ticker)).ticker(ticker).configFile(configFile)
                .auditLog(auditFile, 100).diffLog(dir.resolve("diffs.jsonl"), 100, 0.5)
                .shadow(16, 1, Duration.ofSeconds(5)).tickEvery(null).build();
        rollouts.start();
    }

    @AfterEach
    void tearDown() {
        rollouts.close();
    }

    private long canaryShare(int users) {
        long n = 0;
        for (int u = 0; u < users; u++) {
            n += rollouts.router().route("moderation", "user-" + u, null, null).arm() == Arm.CANARY ? 1 : 0;
        }
        return n;
    }

    private List<JsonObject> audit() throws IOException {
        return Files.readAllLines(auditFile).stream().map(JsonObject::new).toList();
    }

    @Test
    void fileEditsApplyOnTickAndInvalidOnesLeaveTheServingConfig() throws IOException {
        assertThat(canaryShare(1_000)).isZero();
        Files.writeString(configFile, file(100).encodePrettily());
        rollouts.tick();
        assertThat(canaryShare(1_000)).isEqualTo(1_000);

        Files.writeString(configFile, file(100).encodePrettily().replace("1.1.0", "7.7.7"));
        rollouts.tick();
        assertThat(canaryShare(1_000)).isEqualTo(1_000);
        assertThat(rollouts.admin().get("moderation").getJsonObject("rollout").getString("canary")).isEqualTo("1.1.0");
        JsonObject rejected = audit().getLast();
        assertThat(rejected.getBoolean("accepted")).isFalse();
        assertThat(rejected.getString("actor")).isEqualTo("file");
        assertThat(rejected.getString("reason")).contains("'7.7.7' is not loaded");
    }

    @Test
    void adminOperationsAreValidatedAuditedAndWrittenBack() throws IOException {
        assertThatThrownBy(() -> rollouts.admin().put("moderation", new JsonObject().put("primary", "1.0.0")
                .put("canary", "1.1.0").put("canary_weight", 150), "alice", "too much"))
                .isInstanceOfSatisfying(WeirException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT));
        assertThat(canaryShare(1_000)).isZero();

        rollouts.admin().put("moderation", new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0")
                .put("canary_weight", 50), "alice", "half");
        assertThat(canaryShare(10_000)).isBetween(4_700L, 5_300L);
        rollouts.admin().pause("moderation", "bob", "weekend");
        rollouts.admin().resume("moderation", "bob", "monday");
        RolloutConfig rolledBack = rollouts.admin().rollback("moderation", "carol", "p95 looks off");
        assertThat(rolledBack.statusReason()).isEqualTo("p95 looks off");
        assertThat(canaryShare(1_000)).isZero();
        RolloutConfig promoted = rollouts.admin().promote("moderation", "dave", "fixed and verified");
        assertThat(promoted.primary()).isEqualTo("1.1.0");
        assertThat(rollouts.router().route("moderation", "u", "r", null).version()).isEqualTo("1.1.0");
        assertThatThrownBy(() -> rollouts.admin().promote("moderation", "dave", null)).hasMessageContaining("no canary");
        assertThatThrownBy(() -> rollouts.admin().get("ghost"))
                .isInstanceOfSatisfying(WeirException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));

        assertThat(audit()).extracting(r -> r.getString("actor") + " " + r.getString("action") + " " + r.getBoolean("accepted"))
                .containsExactly("file file true", "alice put false", "alice put true", "bob pause true",
                        "bob resume true", "carol rollback true", "dave promote true", "dave promote false");
        assertThat(rollouts.admin().audit("moderation", 3).size()).isEqualTo(3);
        JsonObject onDisk = new JsonObject(Files.readString(configFile)).getJsonObject("models").getJsonObject("moderation");
        assertThat(onDisk.getString("primary")).isEqualTo("1.1.0");
        assertThat(onDisk.containsKey("canary")).isFalse();

        rollouts.admin().remove("moderation", "erin", "back to newest");
        assertThat(rollouts.router().route("moderation", "u", "r", null).version()).isEqualTo("2.0.0");
        assertThat(rollouts.admin().list().getJsonObject("models").isEmpty()).isTrue();
    }

    @Test
    void anInvalidFileRefusesToStart() throws IOException {
        Files.writeString(configFile, file(-5).encode());
        try (Rollouts bad = Rollouts.builder(catalog, new ScriptedDispatcher(ticker)).configFile(configFile)
                .tickEvery(null).build()) {
            assertThatThrownBy(bad::start).isInstanceOf(WeirException.class).hasMessageContaining("canary_weight");
        }
    }
}
