package io.weir.runtime.demo;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelHandle;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelLoadException;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.onnx.OnnxRuntimeBackend;
import io.weir.runtime.repository.ModelRepository;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/** The committed demo repository loads, serves and meets its own golden acceptance; broken copies are refused. */
class DemoRepositoryTest {
    private static ModelRegistry registry;

    @BeforeAll
    static void loadDemoRepository() {
        registry = new ModelRegistry(ModelRepository.open(DemoRepository.materialize()), List.of(new OnnxRuntimeBackend(1)));
        registry.loadAll();
    }

    @AfterAll
    static void close() {
        registry.close();
    }

    @Test
    void everyVersionLoadsOnOnnxRuntime() throws IOException {
        assertThat(registry.statuses()).extracting(s -> s.key().toString())
                .containsExactly("echo@1.0.0", "moderation@1.0.0", "ranker@1.0.0", "ranker@1.1.0");
        for (ModelRegistry.Status s : registry.statuses()) {
            assertThat(s.state()).as(s.key() + ": " + s.message()).isEqualTo(ModelRegistry.State.READY);
            Path sums = DemoRepository.materialize().resolve(s.key().model()).resolve(s.key().version()).resolve("SHA256SUMS");
            assertThat(Files.readAllLines(sums)).contains(s.sha256() + "  model.onnx");
        }
        assertThat(registry.readyVersions("ranker")).containsExactly("1.1.0", "1.0.0");
        assertThat(registry.latestReady("ranker")).contains("1.1.0");
        assertThat(registry.latestReady("moderation")).contains("1.0.0");
        assertThat(registry.latestReady("no-such-model")).isEmpty();
        assertThat(registry.models()).containsExactly("echo", "moderation", "ranker");
        assertThat(registry.models()).allSatisfy(m -> assertThat(registry.knows(m)).as(m).isTrue());
        assertThat(registry.knows("no-such-model")).isFalse();
        assertThat(registry.knows("ranker@1.1.0")).as("a model name, not a key").isFalse();
    }

    @Test
    void configsDeclareTheSeedContract() {
        ModelConfig ranker = config("ranker", "1.0.0");
        assertThat(ranker.featureContract()).hasValueSatisfying(c -> {
            assertThat(c.api()).hasToString("RANK");
            assertThat(c.width()).isEqualTo(59);
        });
        assertThat(ranker.latencyBudgetMs()).isEqualTo(120);
        assertThat(ranker.maxBatchRows()).isEqualTo(256);
        assertThat(ranker.oversize()).isEqualTo(ModelConfig.Oversize.SPLIT);
        assertThat(ranker.label()).hasValue(new ModelConfig.Label(0.5, "relevant", "not_relevant"));
        assertThat(ranker.acceptance().maxAbsScoreDiff()).isEqualTo(1e-5);

        ModelConfig moderation = config("moderation", "1.0.0");
        assertThat(moderation.latencyBudgetMs()).isEqualTo(80);
        assertThat(moderation.acceptance().minAuc()).isGreaterThanOrEqualTo(0.92);
        assertThat(moderation.label()).hasValue(new ModelConfig.Label(0.5, "toxic", "ok"));

        ModelConfig echo = config("echo", "1.0.0");
        assertThat(echo.featureContract()).isEmpty();
        assertThat(echo.latencyBudgetMs()).isEqualTo(50);
        assertThat(echo.maxBatchRows()).isEqualTo(1024);
        assertThat(echo.outputs()).extracting(t -> t.name()).containsExactly("x_out", "ids_out", "text_out");
    }

    private static ModelConfig config(String model, String version) {
        return registry.peek(new ModelKey(model, version)).orElseThrow().config();
    }

    @ParameterizedTest
    @ValueSource(strings = {"ranker@1.0.0", "ranker@1.1.0", "moderation@1.0.0", "echo@1.0.0"})
    void goldenSetReplaysWithinAcceptance(String id) throws Exception {
        ModelKey key = new ModelKey(id.split("@")[0], id.split("@")[1]);
        ModelHandle handle = registry.acquire(key).orElseThrow();
        try {
            Path dir = handle.artifact().directory();
            GoldenReplay.Result r = GoldenReplay.replay(handle.config(), handle.cpu(), dir.resolve("golden.jsonl"));
            JsonObject summary = new JsonObject(Files.readString(dir.resolve("golden-summary.json")));
            ModelConfig.Acceptance acceptance = handle.config().acceptance();

            assertThat(r.requests()).isEqualTo(1_000).isEqualTo(summary.getInteger("count"));
            assertThat(r.rows()).isEqualTo(summary.getInteger("rows"));
            assertThat(r.mismatches()).isZero();
            assertThat(r.maxAbsDiff()).isLessThanOrEqualTo(acceptance.maxAbsScoreDiff());
            assertThat(r.meets(acceptance)).isTrue();
            if (key.model().equals("echo")) {
                assertThat(r.auc()).isEmpty();
            } else {
                double auc = r.auc().orElseThrow();
                assertThat(auc).isGreaterThanOrEqualTo(acceptance.minAuc())
                        .isCloseTo(summary.getDouble("auc"), within(1e-6))
                        .isLessThanOrEqualTo(summary.getDouble("ground_truth_auc"));
                assertThat(r.meanScore()).isCloseTo(summary.getDouble("mean_score"), within(1e-6));
                assertThat(summary.getString("feature_contract_version")).isEqualTo(handle.config().featureContract().orElseThrow().version());
            }
        } finally {
            handle.release();
        }
    }

    @Test
    void replayCatchesADriftedExpectation(@TempDir Path tmp) throws Exception {
        Path golden = DemoRepository.materialize().resolve("moderation/1.0.0/golden.jsonl");
        List<String> lines = Files.readAllLines(golden);
        JsonObject first = new JsonObject(lines.getFirst());
        JsonObject expected = first.getJsonObject("expected");
        expected.put("score", expected.getDouble("score") + 3e-5);
        lines.set(0, first.encode());
        JsonObject second = new JsonObject(lines.get(1));
        String label = second.getJsonObject("expected").getString("label");
        second.getJsonObject("expected").put("label", label.equals("toxic") ? "ok" : "toxic");
        lines.set(1, second.encode());
        Path drifted = tmp.resolve("golden.jsonl");
        Files.write(drifted, lines);

        ModelHandle handle = registry.acquire(new ModelKey("moderation", "1.0.0")).orElseThrow();
        try {
            GoldenReplay.Result r = GoldenReplay.replay(handle.config(), handle.cpu(), drifted);
            assertThat(r.maxAbsDiff()).isBetween(2e-5, 4e-5);
            assertThat(r.mismatches()).isEqualTo(1);
            assertThat(r.meets(handle.config().acceptance())).isFalse();
        } finally {
            handle.release();
        }
    }

    @Test
    void goldenRequestsCoverTheSeedRanges() throws IOException {
        int minCandidates = Integer.MAX_VALUE;
        int maxCandidates = 0;
        for (JsonObject line : golden("ranker", "1.0.0")) {
            int n = line.getJsonObject("request").getJsonArray("candidates").size();
            minCandidates = Math.min(minCandidates, n);
            maxCandidates = Math.max(maxCandidates, n);
            assertThat(line.getJsonArray("truth")).hasSize(n);
        }
        assertThat(minCandidates).isEqualTo(1);
        assertThat(maxCandidates).isBetween(40, 50);
        int longest = 0;
        for (JsonObject line : golden("moderation", "1.0.0")) {
            longest = Math.max(longest, line.getJsonObject("request").getString("text").length());
        }
        assertThat(longest).isBetween(250, 300);
    }

    private static List<JsonObject> golden(String model, String version) throws IOException {
        Path file = DemoRepository.materialize().resolve(model).resolve(version).resolve("golden.jsonl");
        try (BufferedReader in = Files.newBufferedReader(file)) {
            return in.lines().map(JsonObject::new).toList();
        }
    }

    @Test
    void aTamperedModelIsRefusedByItsChecksum(@TempDir Path tmp) throws IOException {
        Path repo = DemoRepository.extractTo(tmp);
        Path onnx = repo.resolve("ranker/1.0.0/model.onnx");
        byte[] bytes = Files.readAllBytes(onnx);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(onnx, bytes);

        assertThatThrownBy(() -> ModelRepository.open(repo).read(new ModelKey("ranker", "1.0.0")))
                .isInstanceOf(ModelLoadException.class).hasMessageContaining("checksum mismatch for model.onnx");
        try (ModelRegistry r = new ModelRegistry(ModelRepository.open(repo), List.of(new OnnxRuntimeBackend(1)))) {
            r.loadAll();
            assertThat(r.status(new ModelKey("ranker", "1.0.0")).orElseThrow()).satisfies(s -> {
                assertThat(s.state()).isEqualTo(ModelRegistry.State.FAILED);
                assertThat(s.message()).contains("checksum mismatch for model.onnx");
            });
            assertThat(r.status(new ModelKey("ranker", "1.1.0")).orElseThrow().state()).isEqualTo(ModelRegistry.State.READY);
        }
    }

    @Test
    void aConfigDeclaringTheWrongInputWidthIsRefused(@TempDir Path tmp) throws IOException {
        Path repo = DemoRepository.extractTo(tmp);
        // echo: no feature contract, so only the model's own signature can catch the mistake.
        Path echo = repo.resolve("echo/config.json");
        JsonObject echoConfig = new JsonObject(Files.readString(echo));
        echoConfig.getJsonArray("inputs").getJsonObject(0).put("shape", new JsonArray().add(-1).add(17));
        Files.writeString(echo, echoConfig.encodePrettily());
        // ranker: a contract grown by one field with the input widened to match parses, but the model has 59 columns.
        Path ranker = repo.resolve("ranker/config.json");
        JsonObject rankerConfig = new JsonObject(Files.readString(ranker));
        rankerConfig.getJsonObject("feature_contract").getJsonArray("fields")
                .add(new JsonObject().put("name", "rating").put("path", "candidate.features.rating").put("type", "numeric"));
        rankerConfig.getJsonArray("inputs").getJsonObject(0).put("shape", new JsonArray().add(-1).add(60));
        Files.writeString(ranker, rankerConfig.encodePrettily());

        try (ModelRegistry r = new ModelRegistry(ModelRepository.open(repo), List.of(new OnnxRuntimeBackend(1)))) {
            r.loadAll();
            assertThat(r.status(new ModelKey("echo", "1.0.0")).orElseThrow()).satisfies(s -> {
                assertThat(s.state()).isEqualTo(ModelRegistry.State.FAILED);
                assertThat(s.message()).contains("input 'x' is declared FP32[-1, 17] but the model has FLOAT[-1, 16]");
            });
            for (String version : List.of("1.0.0", "1.1.0")) {
                assertThat(r.status(new ModelKey("ranker", version)).orElseThrow()).satisfies(s -> {
                    assertThat(s.state()).isEqualTo(ModelRegistry.State.FAILED);
                    assertThat(s.message()).contains("input 'features' is declared FP32[-1, 60] but the model has FLOAT[-1, 59]");
                });
            }
            assertThat(r.status(new ModelKey("moderation", "1.0.0")).orElseThrow().state()).isEqualTo(ModelRegistry.State.READY);
        }
        // A contract that disagrees with the declared input is refused before any model is opened.
        rankerConfig.getJsonArray("inputs").getJsonObject(0).put("shape", new JsonArray().add(-1).add(59));
        Files.writeString(ranker, rankerConfig.encodePrettily());
        assertThatThrownBy(() -> ModelRepository.open(repo).read(new ModelKey("ranker", "1.0.0")))
                .isInstanceOf(ModelLoadException.class)
                .hasMessageContaining("feature_contract yields 60 FP32 features per row but input 'features:FP32[-1, 59]' expects 59");
    }

    @Test
    void materializesOncePerJvmAndExtractsEveryIndexedFile(@TempDir Path tmp) throws IOException {
        assertThat(DemoRepository.materialize()).isSameAs(DemoRepository.materialize());
        List<String> files = DemoRepository.files();
        assertThat(files).contains("ranker/config.json", "ranker/1.1.0/model.onnx", "echo/1.0.0/SHA256SUMS")
                .allSatisfy(f -> assertThat(f).doesNotStartWith("/").doesNotContain(".."));
        Path out = DemoRepository.extractTo(tmp.resolve("nested/dir"));
        for (String f : files) {
            assertThat(out.resolve(f)).hasSameBinaryContentAs(DemoRepository.materialize().resolve(f));
        }
    }
}
