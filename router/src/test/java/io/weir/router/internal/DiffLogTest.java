package io.weir.router.internal;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class DiffLogTest {
    @TempDir
    Path dir;

    @Test
    void samplesByRequestIdKeepsDisagreementsAndBoundsTheRing() throws IOException {
        DiffLog log = new DiffLog(dir.resolve("diffs.jsonl"), 3, 0.1);
        int sampled = 0;
        for (int i = 0; i < 100_000; i++) {
            sampled += log.sampled("req-" + i, false) ? 1 : 0;
        }
        assertThat(sampled).isBetween(9_000, 11_000);
        assertThat(log.sampled("req-42", false)).isEqualTo(log.sampled("req-42", false));
        assertThat(log.sampled("any", true)).isTrue();
        for (int i = 0; i < 5; i++) {
            log.append(new JsonObject().put("request_id", "r" + i).put("model", i % 2 == 0 ? "a" : "b"));
        }
        assertThat(log.recent(null, null, 10)).extracting(o -> ((JsonObject) o).getString("request_id"))
                .containsExactly("r2", "r3", "r4");
        assertThat(log.recent("a", null, 10)).hasSize(2);
        assertThat(log.recent(null, "r3", 10)).hasSize(1);
        assertThat(Files.readAllLines(dir.resolve("diffs.jsonl"))).hasSize(5);
    }
}
