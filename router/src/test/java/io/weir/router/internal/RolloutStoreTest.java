package io.weir.router.internal;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.router.FixedCatalog;
import io.weir.router.RolloutConfig;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RolloutStoreTest {
    @TempDir
    Path dir;

    private final FixedCatalog catalog = new FixedCatalog().load("moderation", "1.0.0", "1.1.0", "2.0.0");
    private final Clock clock = Clock.fixed(Instant.parse("2025-03-01T10:00:00Z"), ZoneOffset.UTC);

    private RolloutStore store(Path file) {
        return new RolloutStore(catalog, new AuditLog(dir.resolve("audit.jsonl"), clock, 100), file);
    }

    private static RolloutStore.Change by(String actor, String why) {
        return new RolloutStore.Change(actor, "put", why);
    }

    private static JsonObject canary(String version, double weight) {
        return new JsonObject().put("primary", "1.0.0").put("canary", version).put("canary_weight", weight);
    }

    private List<JsonObject> auditLines() throws IOException {
        return Files.readAllLines(dir.resolve("audit.jsonl")).stream().map(JsonObject::new).toList();
    }

    @Test
    void anAcceptedChangeServesAndIsAuditedWithItsPreviousValue() throws IOException {
        RolloutStore store = store(null);
        store.put("moderation", canary("1.1.0", 5), by("alice", "first canary"));
        long revision = store.table().revision();
        store.put("moderation", canary("1.1.0", 25), by("bob", "widen"));
        assertThat(store.get("moderation").orElseThrow().canaryWeight()).isEqualTo(25);
        assertThat(store.table().revision()).isEqualTo(revision + 1);
        List<JsonObject> audit = auditLines();
        assertThat(audit).hasSize(2);
        JsonObject last = audit.get(1);
        assertThat(last.getString("at")).isEqualTo("2025-03-01T10:00:00Z");
        assertThat(last.getString("actor")).isEqualTo("bob");
        assertThat(last.getString("action")).isEqualTo("put");
        assertThat(last.getString("why")).isEqualTo("widen");
        assertThat(last.getBoolean("accepted")).isTrue();
        assertThat(last.getJsonObject("previous").getDouble("canary_weight")).isEqualTo(5.0);
        assertThat(last.getJsonObject("next").getDouble("canary_weight")).isEqualTo(25.0);
    }

    @Test
    void badConfigsAreRejectedWithTheReasonAndTheOldOneKeepsServing() throws IOException {
        RolloutStore store = store(null);
        RolloutConfig good = store.put("moderation", canary("1.1.0", 5), by("alice", null));
        RoutingTable table = store.table();
        for (JsonObject bad : List.of(canary("9.9.9", 5), canary("1.1.0", 101), canary("1.1.0", -3),
                canary("1.1.0", 5).put("primary", "0.0.1"), new JsonObject().put("canary_weight", 5))) {
            assertThatThrownBy(() -> store.put("moderation", bad, by("mallory", "oops")))
                    .isInstanceOfSatisfying(WeirException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT))
                    .hasMessageContaining("rejected");
            assertThat(store.table()).as("nothing published").isSameAs(table);
            assertThat(store.get("moderation")).contains(good);
        }
        assertThatThrownBy(() -> store.put("ghost", new JsonObject().put("primary", "1"), by("mallory", null)))
                .hasMessageContaining("model 'ghost' has no loaded version");
        assertThatThrownBy(() -> store.put("moderation", canary("1.1.0", 5).put("typo", 1), by("mallory", null)))
                .hasMessageContaining("unknown field 'typo'");
        List<JsonObject> audit = auditLines();
        assertThat(audit).hasSize(8);
        assertThat(audit.subList(1, 8)).allSatisfy(r -> {
            assertThat(r.getBoolean("accepted")).isFalse();
            assertThat(r.getString("reason")).isNotBlank();
        });
        assertThat(audit.get(1).getString("reason")).contains("canary version '9.9.9' is not loaded");
    }

    @Test
    void aNewCanaryStartsANewRolloutAndTheStageDecidesTheWeight() {
        RolloutStore store = store(null);
        JsonObject staged = canary("1.1.0", 77).put("stages", new JsonArray()
                .add(new JsonObject().put("name", "shadow").put("canary_weight", "shadow"))
                .add(new JsonObject().put("name", "10%").put("canary_weight", 10)));
        RolloutConfig c = store.put("moderation", staged, by("alice", null));
        assertThat(c.canaryWeight()).as("shadow stage: no users").isZero();
        assertThat(c.shadow()).isEqualTo("1.1.0");
        assertThat(c.shadowSampleRate()).isEqualTo(1.0);
        c = store.update("moderation", by("guard", null), true, Transitions::advanced);
        assertThat(c.canaryWeight()).isEqualTo(10);
        c = store.update("moderation", by("guard", null), false, x -> Transitions.rolledBack(x, "bad"));
        assertThat(c.status()).isEqualTo(RolloutConfig.Status.ROLLED_BACK);
        assertThat(c.canaryWeight()).isZero();
        assertThat(c.shadow()).as("no more mirroring to a rolled-back candidate").isNull();
        c = store.put("moderation", c.toJson().put("canary", "2.0.0"), by("alice", "next candidate"));
        assertThat(c.status()).isEqualTo(RolloutConfig.Status.RUNNING);
        assertThat(c.stage()).isZero();
        assertThat(c.shadow()).isEqualTo("2.0.0");
    }

    @Test
    void rollbackIsNeverRefusedBecauseAVersionWentAwayButPromoteIs() {
        RolloutStore store = store(null);
        store.put("moderation", canary("1.1.0", 50), by("alice", null));
        catalog.unload("moderation", "1.1.0");
        assertThatThrownBy(() -> store.update("moderation", by("alice", null), true, Transitions::promoted))
                .hasMessageContaining("not loaded");
        RolloutConfig c = store.update("moderation", by("alice", null), false, x -> Transitions.rolledBack(x, "gone"));
        assertThat(c.canaryWeight()).isZero();
        assertThat(c.statusReason()).isEqualTo("gone");
    }

    @Test
    void theFileIsWatchedValidEditsApplyAndInvalidOnesAreRejected() throws IOException {
        Path file = dir.resolve("rollouts.json");
        Files.writeString(file, new JsonObject().put("models", new JsonObject().put("moderation", canary("1.1.0", 5))).encode());
        RolloutStore store = store(file);
        store.loadFile();
        assertThat(store.get("moderation").orElseThrow().canaryWeight()).isEqualTo(5);
        assertThat(store.pollFile()).isEqualTo(RolloutStore.FileOutcome.UNCHANGED);

        Files.writeString(file, new JsonObject().put("models", new JsonObject().put("moderation", canary("1.1.0", 30))).encode());
        assertThat(store.pollFile()).isEqualTo(RolloutStore.FileOutcome.APPLIED);
        assertThat(store.get("moderation").orElseThrow().canaryWeight()).isEqualTo(30);

        Files.writeString(file, new JsonObject().put("models", new JsonObject().put("moderation", canary("3.0.0", 30))).encode());
        assertThat(store.pollFile()).isEqualTo(RolloutStore.FileOutcome.REJECTED);
        assertThat(store.get("moderation").orElseThrow().canary()).isEqualTo("1.1.0");
        assertThat(store.pollFile()).as("a rejected edit is not re-judged every poll").isEqualTo(RolloutStore.FileOutcome.UNCHANGED);

        Files.writeString(file, "{\"models\": {\"moderation\": ");
        assertThat(store.pollFile()).isEqualTo(RolloutStore.FileOutcome.REJECTED);
        assertThat(store.get("moderation").orElseThrow().canaryWeight()).isEqualTo(30);

        List<JsonObject> audit = auditLines();
        assertThat(audit).extracting(r -> r.getString("actor")).containsOnly("file");
        assertThat(audit).extracting(r -> r.getBoolean("accepted")).containsExactly(true, true, false, false);
        assertThat(audit.get(2).getString("reason")).contains("moderation: canary version '3.0.0' is not loaded");
    }

    @Test
    void acceptedChangesAreWrittenBackAndNotReappliedFromTheFile() throws IOException {
        Path file = dir.resolve("rollouts.json");
        RolloutStore store = store(file);
        store.loadFile();
        store.put("moderation", canary("1.1.0", 5), by("alice", null));
        JsonObject onDisk = new JsonObject(Files.readString(file));
        assertThat(onDisk.getJsonObject("models").getJsonObject("moderation").getDouble("canary_weight")).isEqualTo(5.0);
        assertThat(store.pollFile()).isEqualTo(RolloutStore.FileOutcome.UNCHANGED);

        RolloutStore restarted = store(file);
        restarted.loadFile();
        assertThat(restarted.get("moderation")).isEqualTo(store.get("moderation"));
    }

    @Test
    void aRolledBackCanaryNeedNotBeLoadedToStartButNeedsToBeToRunAgain() {
        Path file = dir.resolve("rollouts.json");
        RolloutStore store = store(file);
        store.loadFile();
        store.put("moderation", canary("1.1.0", 50).put("shadow", "2.0.0").put("shadow_sample_rate", 0.0),
                by("alice", null));
        store.update("moderation", by("bob", null), false, x -> Transitions.rolledBack(x, "p95 regression"));
        catalog.unload("moderation", "1.1.0").unload("moderation", "2.0.0");

        RolloutStore restarted = store(file);
        restarted.loadFile();
        RolloutConfig c = restarted.get("moderation").orElseThrow();
        assertThat(c.status()).isEqualTo(RolloutConfig.Status.ROLLED_BACK);
        assertThat(c.canary()).isEqualTo("1.1.0");
        assertThatThrownBy(() -> restarted.put("moderation", c.toJson().put("status", "running"), by("alice", "retry")))
                .hasMessageContaining("canary version '1.1.0' is not loaded");
        assertThatThrownBy(() -> restarted.put("moderation", c.toJson().put("shadow_sample_rate", 0.1), by("alice", null)))
                .hasMessageContaining("shadow version '2.0.0' is not loaded");
    }

    @Test
    void anAdminEditFirstAppliesAFileEditNotYetPolledInsteadOfWritingOverIt() throws IOException {
        Path file = dir.resolve("rollouts.json");
        RolloutStore store = store(file);
        store.loadFile();
        store.put("moderation", canary("1.1.0", 5), by("alice", null));
        Files.writeString(file, new JsonObject().put("models", new JsonObject().put("moderation", canary("1.1.0", 30))).encode());

        RolloutConfig c = store.update("moderation", new RolloutStore.Change("bob", "pause", null), true,
                x -> Transitions.paused(x, true));
        assertThat(c.canaryWeight()).as("the operator's edit").isEqualTo(30);
        assertThat(c.paused()).isTrue();
        JsonObject onDisk = new JsonObject(Files.readString(file)).getJsonObject("models").getJsonObject("moderation");
        assertThat(onDisk.getDouble("canary_weight")).isEqualTo(30.0);
        assertThat(onDisk.getBoolean("paused")).isTrue();
        assertThat(auditLines()).extracting(r -> r.getString("actor") + " " + r.getString("action"))
                .containsExactly("alice put", "file file", "bob pause");
        assertThat(store.pollFile()).isEqualTo(RolloutStore.FileOutcome.UNCHANGED);
    }

    @Test
    void aChangeWhoseAuditRecordCannotBeWrittenIsNotWrittenToTheFileEither() throws IOException {
        Path file = dir.resolve("rollouts.json");
        RolloutStore store = store(file);
        store.loadFile();
        store.put("moderation", canary("1.1.0", 5), by("alice", null));
        String before = Files.readString(file);
        Files.delete(dir.resolve("audit.jsonl"));
        Files.createDirectory(dir.resolve("audit.jsonl")); // appending to it fails

        assertThatThrownBy(() -> store.put("moderation", canary("1.1.0", 30), by("bob", null)))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("audit log");
        assertThat(Files.readString(file)).as("no unaudited change on disk").isEqualTo(before);
        assertThat(store.get("moderation").orElseThrow().canaryWeight()).isEqualTo(5);
        assertThat(store.pollFile()).isEqualTo(RolloutStore.FileOutcome.UNCHANGED);
    }

    @Test
    void aChangeThatCannotBeWrittenIsAuditedAsNotAppliedAndDoesNotServe() throws IOException {
        Path file = dir.resolve("rollouts.json");
        RolloutStore store = store(file);
        store.loadFile();
        store.put("moderation", canary("1.1.0", 5), by("alice", null));
        Files.delete(file);
        Files.createDirectories(file.resolve("in-the-way")); // a non-empty directory cannot be replaced by the file

        assertThatThrownBy(() -> store.put("moderation", canary("1.1.0", 30), by("bob", null)))
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("cannot write rollout file");
        assertThat(store.get("moderation").orElseThrow().canaryWeight()).isEqualTo(5);
        List<JsonObject> audit = auditLines();
        assertThat(audit).extracting(r -> r.getString("actor") + " " + r.getBoolean("accepted"))
                .containsExactly("alice true", "bob true", "bob false");
        assertThat(audit.get(2).getString("reason")).startsWith("not applied: cannot write rollout file");
    }

    @Test
    void aFailedWriteLeavesNoTempFileAndWhatWasThereInPlace() throws IOException {
        Path file = dir.resolve("rollouts.json");
        RolloutStore store = store(file);
        store.loadFile();
        Files.createDirectories(file.resolve("in-the-way")); // the rename onto a non-empty directory fails

        assertThatThrownBy(() -> store.put("moderation", canary("1.1.0", 5), by("alice", null)))
                .isInstanceOf(UncheckedIOException.class);
        try (var left = Files.list(dir)) {
            assertThat(left.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("rollouts.json", "audit.jsonl");
        }
        assertThat(file.resolve("in-the-way")).isDirectory();
    }

    @Test
    void anInvalidFileAtStartUpRefusesToStart() throws IOException {
        Path file = dir.resolve("rollouts.json");
        Files.writeString(file, new JsonObject().put("models", new JsonObject().put("moderation", canary("1.1.0", 500))).encode());
        assertThatThrownBy(() -> store(file).loadFile()).isInstanceOf(WeirException.class)
                .hasMessageContaining("canary_weight must be between 0 and 100");
    }
}
