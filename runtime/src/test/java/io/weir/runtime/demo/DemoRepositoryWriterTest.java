package io.weir.runtime.demo;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * The committed demo repository is what the writer makes: regenerate it and compare. Everything the writer computes
 * itself (ONNX files, configs, golden requests, ground truth) must match byte for byte. The golden expectations are
 * ONNX Runtime's float32 outputs, whose last bits may depend on the CPU's kernels (AVX2 vs AVX-512 FMA order); on a
 * machine where they differ, they must still agree to 1e-6, ten times tighter than any acceptance tolerance.
 */
class DemoRepositoryWriterTest {
    private static final double ORT_ROUNDING = 1e-6;

    @Test
    void regeneratingGivesTheCommittedRepository(@TempDir Path tmp) throws IOException {
        Path fresh = tmp.resolve("fresh");
        DemoRepositoryWriter.Report report = DemoRepositoryWriter.write(fresh);
        assertThat(report.versions()).extracting(v -> v.key().toString())
                .containsExactly("ranker@1.0.0", "ranker@1.1.0", "moderation@1.0.0", "echo@1.0.0");
        Path committed = DemoRepository.extractTo(tmp.resolve("committed"));

        List<String> freshFiles = listFiles(fresh);
        assertThat(freshFiles).containsExactlyElementsOf(listFiles(committed));
        assertThat(Files.readAllLines(fresh.resolve("index.txt")))
                .containsExactlyElementsOf(freshFiles.stream().filter(f -> !f.equals("index.txt")).toList());

        List<String> differingGoldens = new ArrayList<>();
        for (String f : freshFiles) {
            byte[] a = Files.readAllBytes(fresh.resolve(f));
            byte[] b = Files.readAllBytes(committed.resolve(f));
            if (java.util.Arrays.equals(a, b)) {
                continue;
            }
            if (f.endsWith("/golden.jsonl")) {
                assertGoldenLinesAgree(f, new String(a, StandardCharsets.UTF_8), new String(b, StandardCharsets.UTF_8));
                differingGoldens.add(f.substring(0, f.lastIndexOf('/')));
            } else if (!f.endsWith("/golden-summary.json") && !f.endsWith("/SHA256SUMS")) {
                fail(f + " differs from the committed file: regenerate the demo repository (see io.weir.runtime.demo)");
            }
        }
        // Summaries and checksums may only differ where ONNX Runtime's rounding changed a golden file.
        for (String f : freshFiles) {
            if (f.endsWith("/golden-summary.json") || f.endsWith("/SHA256SUMS")) {
                String dir = f.substring(0, f.lastIndexOf('/'));
                if (!differingGoldens.contains(dir)) {
                    assertThat(fresh.resolve(f)).as(f).hasSameBinaryContentAs(committed.resolve(f));
                } else if (f.endsWith(".json")) {
                    assertJsonAgrees(f, new JsonObject(Files.readString(fresh.resolve(f))),
                            new JsonObject(Files.readString(committed.resolve(f))));
                } else {
                    assertThat(Files.readAllLines(fresh.resolve(f)).getFirst()).as("model.onnx checksum in " + f)
                            .isEqualTo(Files.readAllLines(committed.resolve(f)).getFirst());
                }
            }
        }
    }

    private static List<String> listFiles(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).map(p -> root.relativize(p).toString().replace('\\', '/')).sorted().toList();
        }
    }

    private static void assertGoldenLinesAgree(String file, String fresh, String committed) {
        String[] a = fresh.split("\n");
        String[] b = committed.split("\n");
        assertThat(a.length).as(file + " lines").isEqualTo(b.length);
        for (int i = 0; i < a.length; i++) {
            if (!a[i].equals(b[i])) {
                JsonObject x = new JsonObject(a[i]);
                JsonObject y = new JsonObject(b[i]);
                assertThat(x.getJsonObject("request")).as(file + ":" + (i + 1) + " request").isEqualTo(y.getJsonObject("request"));
                assertThat(x.getJsonArray("truth")).as(file + ":" + (i + 1) + " truth").isEqualTo(y.getJsonArray("truth"));
                assertJsonAgrees(file + ":" + (i + 1), x.getJsonObject("expected"), y.getJsonObject("expected"));
            }
        }
    }

    /** Same structure and strings; numbers equal within ONNX Runtime's rounding. */
    private static void assertJsonAgrees(String where, Object a, Object b) {
        switch (a) {
            case JsonObject o -> {
                assertThat(b).as(where).isInstanceOf(JsonObject.class);
                JsonObject p = (JsonObject) b;
                assertThat(o.fieldNames()).as(where).containsExactlyElementsOf(p.fieldNames());
                for (Map.Entry<String, Object> e : o) {
                    assertJsonAgrees(where + "." + e.getKey(), e.getValue(), p.getValue(e.getKey()));
                }
            }
            case JsonArray arr -> {
                assertThat(b).as(where).isInstanceOf(JsonArray.class);
                JsonArray q = (JsonArray) b;
                assertThat(arr.size()).as(where).isEqualTo(q.size());
                for (int i = 0; i < arr.size(); i++) {
                    assertJsonAgrees(where + "[" + i + "]", arr.getValue(i), q.getValue(i));
                }
            }
            case Number n -> {
                assertThat(b).as(where).isInstanceOf(Number.class);
                assertThat(Math.abs(n.doubleValue() - ((Number) b).doubleValue())).as(where).isLessThanOrEqualTo(ORT_ROUNDING);
            }
            default -> assertThat(a).as(where).isEqualTo(b);
        }
    }
}
