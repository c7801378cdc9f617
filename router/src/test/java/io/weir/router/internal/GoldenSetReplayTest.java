package io.weir.router.internal;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.router.FixedCatalog;
import io.weir.router.GoldenCheck;
import io.weir.router.ManualTicker;
import io.weir.router.ScriptedDispatcher;
import io.weir.runtime.ModelKey;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class GoldenSetReplayTest {
    private static final String MODEL = "moderation";

    @TempDir
    Path repo;

    private final FixedCatalog catalog = new FixedCatalog().load(MODEL, "1.0.0", "1.1.0", "1.2.0");
    private final ScriptedDispatcher dispatcher = new ScriptedDispatcher(new ManualTicker()).offset("1.1.0", 0.2f);
    private GoldenSetReplay replay;

    @BeforeEach
    void setUp() {
        replay = new GoldenSetReplay(repo, catalog, dispatcher, Duration.ofSeconds(5));
    }

    /** 40 moderate cases scored by 1.0.0; truth follows the score except for two cases, so AUC is high but not 1. */
    private void writeGolden(String version, boolean invertTruth) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            float[] f = {(i % 9) - 4f, (i % 4) * 0.3f, -0.2f * (i % 3), 0.05f * i - 1};
            JsonObject request = new JsonObject().put("a", f[0]).put("b", f[1]).put("c", f[2]).put("d", f[3]);
            float score = dispatcher.score("1.0.0", f);
            int truth = (score >= 0.5) ^ (i == 3 || i == 17) ^ invertTruth ? 1 : 0;
            JsonObject expected = new JsonObject().put("score", score).put("label", score >= 0.5 ? "toxic" : "ok");
            lines.add(new JsonObject().put("request", request).put("expected", expected)
                    .put("truth", new JsonArray().add(truth)).encode());
        }
        Path dir = Files.createDirectories(repo.resolve(MODEL).resolve(version));
        Files.write(dir.resolve(GoldenSetReplay.FILE), lines);
    }

    @Test
    void theVersionThatProducedTheGoldenSetPasses() throws Exception {
        writeGolden("1.0.0", false);
        GoldenCheck.Verdict v = replay.check(MODEL, "1.0.0").toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(v.passed()).as(v.reason()).isTrue();
        assertThat(v.reason()).contains("40 cases").contains("AUC");
        assertThat(dispatcher.calls("1.0.0")).isEqualTo(40);
    }

    @Test
    void aVersionWhoseScoresMovedFailsOnTheScoreDifference() throws IOException {
        writeGolden("1.1.0", false);
        GoldenCheck.Verdict v = replay.replay(new ModelKey(MODEL, "1.1.0"));
        assertThat(v.passed()).isFalse();
        assertThat(v.reason()).satisfiesAnyOf(r -> assertThat(r).contains("score differs"), r -> assertThat(r).contains("label"));
    }

    @Test
    void anAucBelowTheAcceptanceThresholdFails() throws IOException {
        writeGolden("1.0.0", true);
        GoldenCheck.Verdict v = replay.replay(new ModelKey(MODEL, "1.0.0"));
        assertThat(v.passed()).isFalse();
        assertThat(v.reason()).contains("below min_auc 0.8000");
    }

    @Test
    void aMissingGoldenSetOrAnUnloadedVersionFails() {
        assertThat(replay.replay(new ModelKey(MODEL, "1.2.0")).reason()).contains("no readable golden set");
        assertThat(replay.replay(new ModelKey(MODEL, "9.0.0")).reason()).contains("is not loaded");
    }

    @Test
    void aucIsTheMannWhitneyStatisticWithTiesShared() {
        assertThat(GoldenSetReplay.auc(List.of(0.1, 0.4, 0.35, 0.8), List.of(0, 0, 1, 1))).isCloseTo(0.75, within(1e-12));
        assertThat(GoldenSetReplay.auc(List.of(0.5, 0.5), List.of(0, 1))).isCloseTo(0.5, within(1e-12));
        assertThat(GoldenSetReplay.auc(List.of(0.2, 0.9), List.of(1, 1))).isNaN();
    }
}
