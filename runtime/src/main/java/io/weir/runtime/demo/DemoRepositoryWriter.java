package io.weir.runtime.demo;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.InferenceException;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelLoadException;
import io.weir.runtime.Tensor;
import io.weir.runtime.features.FeatureContract;
import io.weir.runtime.onnx.OnnxGraphBuilder;
import io.weir.runtime.onnx.OnnxRuntimeBackend;
import io.weir.runtime.repository.Checksums;
import io.weir.runtime.repository.ModelRepository;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.stream.Stream;

/**
 * Trains the demo models and writes them as a model repository:
 * {@code <repo>/<model>/config.json} and, per version, {@code model.onnx}, {@code golden.jsonl},
 * {@code golden-summary.json} and {@code SHA256SUMS}, plus {@code <repo>/index.txt} listing every file.
 *
 * <p>Everything written is a function of the code alone (seeded generators, strict arithmetic, insertion-ordered
 * JSON, no timestamps), so running it twice gives the same bytes; the committed demo repository is checked against a
 * fresh run by the tests. The golden expectations are what ONNX Runtime computes from the written {@code model.onnx},
 * checked against the trainer's own forward pass before anything is kept.
 *
 * <pre>java ... io.weir.runtime.demo.DemoRepositoryWriter &lt;outputDir&gt;</pre>
 */
public final class DemoRepositoryWriter {
    /** Golden requests per model version. */
    public static final int GOLDEN_REQUESTS = 1_000;
    /** Largest |ONNX Runtime − Java forward pass| tolerated when writing (the configs' max_abs_score_diff). */
    static final double FORWARD_TOLERANCE = 1e-5;
    static final String INDEX = "index.txt";
    static final String GOLDEN = "golden.jsonl";
    static final String SUMMARY = "golden-summary.json";
    static final String MODEL = "model.onnx";
    static final String CONFIG = "config.json";

    /** What was written for one version; timings vary run to run and are reported, never written. */
    public record VersionReport(ModelKey key, long onnxBytes, int parameters, int trainingRows, int goldenRequests,
                                int goldenRows, OptionalDouble auc, OptionalDouble groundTruthAuc, double meanScore,
                                long trainingMillis) {
    }

    public record Report(Path root, List<VersionReport> versions, long totalMillis) {
    }

    private DemoRepositoryWriter() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 1) {
            System.err.println("usage: DemoRepositoryWriter <outputDir>");
            System.exit(2);
        }
        Report report = write(Path.of(args[0]));
        System.out.println("wrote demo model repository to " + report.root() + " in " + report.totalMillis() + " ms");
        for (VersionReport v : report.versions()) {
            System.out.println(String.format(Locale.ROOT,
                    "  %-18s onnx %7d B  params %6d  train rows %6d in %5d ms  golden %4d req / %5d rows  auc %s (ground truth %s)  mean score %.4f",
                    v.key(), v.onnxBytes(), v.parameters(), v.trainingRows(), v.trainingMillis(), v.goldenRequests(),
                    v.goldenRows(), fmt(v.auc()), fmt(v.groundTruthAuc()), v.meanScore()));
        }
    }

    private static String fmt(OptionalDouble d) {
        return d.isPresent() ? String.format(Locale.ROOT, "%.4f", d.getAsDouble()) : "-";
    }

    /**
     * Writes the demo repository under {@code root}, replacing any earlier demo models there (other content is left
     * alone), and verifies it reads back through {@link ModelRepository}.
     */
    public static Report write(Path root) throws IOException {
        long start = System.nanoTime();
        Files.createDirectories(root);
        List<VersionReport> reports = new ArrayList<>();
        List<ScoringDemo> scoring = List.of(new RankerDemo(), new ModerationDemo());
        for (String model : modelNames()) {
            deleteTree(root.resolve(model));
        }
        try (OnnxRuntimeBackend ort = new OnnxRuntimeBackend(1)) {
            for (ScoringDemo demo : scoring) {
                reports.addAll(writeScoring(root, demo, ort));
            }
            reports.add(writeEcho(root, ort));
        } catch (ModelLoadException | InferenceException e) {
            throw new IllegalStateException("ONNX Runtime rejected a demo model the writer just built: " + e.getMessage(), e);
        }
        writeIndex(root);
        verify(root, reports);
        return new Report(root, reports, (System.nanoTime() - start) / 1_000_000);
    }

    static List<String> modelNames() {
        return List.of(RankerDemo.NAME, ModerationDemo.NAME, EchoDemo.NAME);
    }

    private static List<VersionReport> writeScoring(Path root, ScoringDemo demo, OnnxRuntimeBackend ort)
            throws IOException, ModelLoadException, InferenceException {
        FeatureContract contract = demo.contract();
        // Acceptance thresholds do not affect loading or scoring; the real floor is known once the AUCs are.
        ModelConfig provisional = ModelConfig.parse(demo.config(0.0));
        List<ScoringDemo.LabelledRequest> golden = new ArrayList<>();
        DemoRandom goldenRng = new DemoRandom(demo.goldenSeed());
        for (int i = 0; i < GOLDEN_REQUESTS; i++) {
            ScoringDemo.LabelledRequest s = demo.sample(goldenRng, String.format(Locale.ROOT, "%s-golden-%04d", demo.name(), i));
            // Score what a reader of golden.jsonl will parse, not the in-memory object it came from.
            golden.add(new ScoringDemo.LabelledRequest(new JsonObject(s.request().encode()), s.truth(), s.probability()));
        }
        List<VersionReport> reports = new ArrayList<>();
        for (ScoringDemo.VersionPlan plan : demo.versions()) {
            ModelKey key = new ModelKey(demo.name(), plan.version());
            long trainStart = System.nanoTime();
            TrainingData data = trainingData(demo, plan);
            DemoRandom rng = new DemoRandom(plan.seed());
            Mlp mlp = Mlp.initialise(contract.width(), plan.hidden(), plan.activation(), rng.fork(1));
            mlp.train(data.x(), data.labels(), data.rows(), plan.training(), rng.fork(2));
            long trainingMillis = (System.nanoTime() - trainStart) / 1_000_000;

            OnnxGraphBuilder g = new OnnxGraphBuilder(demo.name()).producer("weir-demo", "1")
                    .docString("Weir demo model " + key + "; see io.weir.runtime.demo.")
                    .metadata("weir.model", demo.name())
                    .metadata("weir.version", plan.version())
                    .metadata("weir.training_seed", Long.toString(plan.seed()))
                    .metadata("weir.feature_contract", contract.version())
                    .input(provisional.input(contract.input()).orElseThrow())
                    .output(provisional.output(contract.output()).orElseThrow());
            mlp.export(g, "", contract.input(), contract.output());
            byte[] onnx = g.toBytes();
            Path dir = root.resolve(demo.name()).resolve(plan.version());
            Files.createDirectories(dir);
            Files.write(dir.resolve(MODEL), onnx);

            Mlp exported = mlp.roundedToFloat();
            StringBuilder lines = new StringBuilder();
            List<Double> scores = new ArrayList<>();
            List<Double> probabilities = new ArrayList<>();
            List<Integer> truths = new ArrayList<>();
            double scoreSum = 0;
            LoadedModel loaded = ort.load(new ModelArtifact(key, provisional, dir, onnx, Checksums.sha256(onnx)));
            try {
                for (ScoringDemo.LabelledRequest s : golden) {
                    Tensor x = contract.encode(s.request());
                    float[] out = loaded.run(Map.of(contract.input(), x)).get(contract.output()).floats();
                    JsonArray truth = new JsonArray();
                    for (int r = 0; r < out.length; r++) {
                        double java = exported.predict(x.floats(), r);
                        if (!(Math.abs(java - out[r]) <= FORWARD_TOLERANCE)) {
                            throw new IllegalStateException(key + ": ONNX Runtime scored " + out[r] + " but the trainer's forward pass "
                                    + java + " for row " + r + " of " + s.request().getString("request_id"));
                        }
                        scores.add((double) out[r]);
                        probabilities.add(s.probability()[r]);
                        truths.add(s.truth()[r]);
                        truth.add(s.truth()[r]);
                        scoreSum += out[r];
                    }
                    lines.append(new JsonObject()
                            .put("request", s.request())
                            .put("expected", demo.expected(s.request(), out, provisional))
                            .put("truth", truth).encode()).append('\n');
                }
            } finally {
                loaded.close();
            }
            Files.writeString(dir.resolve(GOLDEN), lines, StandardCharsets.UTF_8);
            int[] labels = truths.stream().mapToInt(Integer::intValue).toArray();
            double auc = Auc.of(scores.stream().mapToDouble(Double::doubleValue).toArray(), labels);
            double bayes = Auc.of(probabilities.stream().mapToDouble(Double::doubleValue).toArray(), labels);
            double mean = scoreSum / scores.size();
            JsonObject summary = new JsonObject()
                    .put("model", demo.name())
                    .put("version", plan.version())
                    .put("count", golden.size())
                    .put("rows", scores.size())
                    .put("positives", truths.stream().mapToInt(Integer::intValue).sum())
                    .put("auc", auc)
                    .put("ground_truth_auc", bayes)
                    .put("mean_score", mean)
                    .put("training_seed", plan.seed())
                    .put("training_rows", data.rows())
                    .put("hidden_units", plan.hidden())
                    .put("feature_contract_version", contract.version())
                    .put("golden_seed", demo.goldenSeed());
            Files.writeString(dir.resolve(SUMMARY), pretty(summary), StandardCharsets.UTF_8);
            Checksums.writeSums(dir, List.of(MODEL, GOLDEN, SUMMARY));
            reports.add(new VersionReport(key, onnx.length, mlp.parameterCount(), data.rows(), golden.size(), scores.size(),
                    OptionalDouble.of(auc), OptionalDouble.of(bayes), mean, trainingMillis));
        }
        double lowest = reports.stream().mapToDouble(r -> r.auc().getAsDouble()).min().orElseThrow();
        double minAuc = demo.minAuc(lowest);
        if (lowest < minAuc) {
            throw new IllegalStateException(demo.name() + ": a version reaches golden AUC " + lowest
                    + ", under the acceptance floor " + minAuc);
        }
        JsonObject config = demo.config(minAuc);
        ModelConfig.parse(config); // the file must be one the repository accepts
        Files.writeString(root.resolve(demo.name()).resolve(CONFIG), pretty(config), StandardCharsets.UTF_8);
        return reports;
    }

    record TrainingData(float[] x, float[] labels, int rows) {
    }

    /** The plan's training requests, encoded by the model's feature contract: the gateway's own encoding. */
    static TrainingData trainingData(ScoringDemo demo, ScoringDemo.VersionPlan plan) {
        DemoRandom rng = new DemoRandom(plan.seed()).fork(0);
        FeatureContract contract = demo.contract();
        List<Tensor> parts = new ArrayList<>();
        List<int[]> truths = new ArrayList<>();
        for (int i = 0; i < plan.trainingRequests(); i++) {
            ScoringDemo.LabelledRequest s = demo.sample(rng, String.format(Locale.ROOT, "%s-train-%05d", demo.name(), i));
            parts.add(contract.encode(s.request()));
            truths.add(s.truth());
        }
        Tensor x = Tensor.concatRows(parts);
        float[] labels = new float[x.rows()];
        int r = 0;
        for (int[] t : truths) {
            for (int label : t) {
                labels[r++] = label;
            }
        }
        return new TrainingData(x.floats(), labels, x.rows());
    }

    private static VersionReport writeEcho(Path root, OnnxRuntimeBackend ort) throws IOException, ModelLoadException, InferenceException {
        EchoDemo echo = new EchoDemo();
        JsonObject configJson = echo.config();
        ModelConfig config = ModelConfig.parse(configJson);
        ModelKey key = new ModelKey(EchoDemo.NAME, EchoDemo.VERSION);
        Path dir = root.resolve(EchoDemo.NAME).resolve(EchoDemo.VERSION);
        Files.createDirectories(dir);
        Files.writeString(root.resolve(EchoDemo.NAME).resolve(CONFIG), pretty(configJson), StandardCharsets.UTF_8);
        byte[] onnx = echo.onnx(config);
        Files.write(dir.resolve(MODEL), onnx);
        DemoRandom rng = new DemoRandom(EchoDemo.GOLDEN_SEED);
        StringBuilder lines = new StringBuilder();
        int rows = 0;
        LoadedModel loaded = ort.load(new ModelArtifact(key, config, dir, onnx, Checksums.sha256(onnx)));
        try {
            for (int i = 0; i < GOLDEN_REQUESTS; i++) {
                EchoDemo.Sample s = echo.sample(rng, String.format(Locale.ROOT, "echo-golden-%04d", i));
                Map<String, Tensor> out = loaded.run(s.inputs());
                JsonObject expected = EchoDemo.expected(config, out);
                JsonArray expectedOutputs = expected.getJsonArray("outputs");
                JsonArray inputs = s.request().getJsonArray("inputs");
                for (int k = 0; k < inputs.size(); k++) {
                    // An identity: each output must serialise exactly as its input, apart from the name.
                    JsonObject in = inputs.getJsonObject(k).copy().put("name", "");
                    JsonObject o = expectedOutputs.getJsonObject(k).copy().put("name", "");
                    if (!in.encode().equals(o.encode())) {
                        throw new IllegalStateException(key + ": ONNX Runtime changed " + inputs.getJsonObject(k).getString("name")
                                + " in " + s.request().getString("id"));
                    }
                }
                lines.append(new JsonObject().put("request", s.request()).put("expected", expected).encode()).append('\n');
                rows += s.rows();
            }
        } finally {
            loaded.close();
        }
        Files.writeString(dir.resolve(GOLDEN), lines, StandardCharsets.UTF_8);
        JsonObject summary = new JsonObject()
                .put("model", EchoDemo.NAME)
                .put("version", EchoDemo.VERSION)
                .put("count", GOLDEN_REQUESTS)
                .put("rows", rows)
                .put("golden_seed", EchoDemo.GOLDEN_SEED);
        Files.writeString(dir.resolve(SUMMARY), pretty(summary), StandardCharsets.UTF_8);
        Checksums.writeSums(dir, List.of(MODEL, GOLDEN, SUMMARY));
        return new VersionReport(key, onnx.length, 0, 0, GOLDEN_REQUESTS, rows, OptionalDouble.empty(), OptionalDouble.empty(),
                Double.NaN, 0);
    }

    /** {@code index.txt}: every file of the demo models, relative to the root with '/' separators, sorted. */
    private static void writeIndex(Path root) throws IOException {
        List<String> files = new ArrayList<>();
        for (String model : modelNames()) {
            try (Stream<Path> walk = Files.walk(root.resolve(model))) {
                walk.filter(Files::isRegularFile)
                        .map(p -> root.relativize(p).toString().replace('\\', '/'))
                        .forEach(files::add);
            }
        }
        files.sort(Comparator.naturalOrder());
        StringBuilder sb = new StringBuilder();
        files.forEach(f -> sb.append(f).append('\n'));
        Files.writeString(root.resolve(INDEX), sb, StandardCharsets.UTF_8);
    }

    /** Reads every written version back through the repository: configs parse, checksums match. */
    private static void verify(Path root, List<VersionReport> reports) {
        ModelRepository repo = ModelRepository.open(root);
        for (VersionReport r : reports) {
            try {
                repo.read(r.key());
            } catch (ModelLoadException e) {
                throw new IllegalStateException("the demo repository just written does not read back: " + e.getMessage(), e);
            }
        }
    }

    /** Indented JSON with '\n' line ends on every platform and a final newline. */
    static String pretty(JsonObject json) {
        return json.encodePrettily().replace("\r\n", "\n") + "\n";
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
