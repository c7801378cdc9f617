package io.weir.runtime.cuda;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.nativebindings.Cublas;
import io.weir.nativebindings.Cuda;
import io.weir.nativebindings.CudaProbe;
import io.weir.nativebindings.CudaStream;
import io.weir.nativebindings.DeviceBuffer;
import io.weir.nativebindings.GpuSelfTest;
import io.weir.nativebindings.Nvrtc;
import io.weir.nativebindings.PinnedHostBuffer;
import io.weir.nativebindings.WeirKernels;
import io.weir.runtime.Backend;
import io.weir.runtime.DataType;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelLoadException;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.Ticker;
import io.weir.runtime.Warmup;
import io.weir.runtime.demo.GoldenReplay;
import io.weir.runtime.embedding.DemoEmbeddings;
import io.weir.runtime.embedding.EmbeddingIndex;
import io.weir.runtime.embedding.VectorSearch;
import io.weir.runtime.onnx.OnnxGraphBuilder;
import io.weir.runtime.onnx.OnnxRuntimeBackend;
import io.weir.runtime.repository.ModelRepository;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;

/**
 * The GPU-machine acceptance check (run by {@code native-bindings/gpu-check.sh}; no Maven or JUnit
 * there). Sections:
 * <ol>
 *   <li>environment: driver, device, cuBLAS, NVRTC, where the kernels come from;</li>
 *   <li>{@link GpuSelfTest}: every kernel, cuBLAS, CUDA graph replay and the NVRTC path vs CPU references;</li>
 *   <li>golden sets: every model version of the repository replayed on CUDA against the ONNX Runtime
 *       expectations recorded in {@code golden.jsonl}, and CUDA vs live ONNX Runtime CPU on random batches
 *       (1..1024 rows, each size five times so eager runs, captures and graph replays are all compared);
 *       tolerance {@code |cuda - cpu| <= 1e-4 * max(1, |cpu|)};</li>
 *   <li>latency: the ranker at 1, 8, 64, 256, 1024 rows, end to end ({@code Tensor} in, {@code Tensor} out)
 *       vs a bare FFM round trip of the same bytes (heap -> pinned -> device, copy kernel, device -> pinned
 *       -> heap); target: at most 3x for small batches (up to 64 rows);</li>
 *   <li>wide MLP (4 x Linear 4096, batch 4096): Weir's times, with weights/input/output written for the
 *       PyTorch side ({@code gpu_check_torch.py}) to compare speed and results;</li>
 *   <li>similarity search: GPU top-k vs the exact CPU search.</li>
 * </ol>
 * <p>Design note (concurrency): a single-threaded program; the backends it drives are thread-safe
 * but are used here from the main thread only, so the timings measure one request at a time.
 *
 * <p>Exit status: 0 when every correctness check passed (performance targets are reported, not
 * enforced), 1 when one failed, 2 when no GPU is usable (unless {@code --cpu-smoke}, which runs
 * what a machine without a GPU can: probe, model compilation, and exits 0).
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp 'lib/*' io.weir.runtime.cuda.GpuCheck
 *      [--repo DIR] [--work DIR] [--quick] [--skip-wide] [--cpu-smoke] [--gemm sgemm|lt]
 *      [--sections selftest,golden,latency,wide,search]</pre>
 */
public final class GpuCheck {

    private static final double TOLERANCE = 1e-4;
    private static final int[] LATENCY_ROWS = {1, 8, 64, 256, 1024};
    private static final int SMALL_BATCH_MAX = 64;
    private static final int WIDE = 4096;
    private static final int WIDE_LAYERS = 4;

    private static final List<String> ALL_SECTIONS = List.of("selftest", "golden", "latency", "wide", "search");

    private final Path repo;
    private final Path work;
    private final boolean quick;
    private final boolean skipWide;
    private final CudaBackend.GemmEngine gemm;
    private final List<String> sections;
    private final List<String> failures = new ArrayList<>();
    private final List<String> targets = new ArrayList<>();

    private GpuCheck(Path repo, Path work, boolean quick, boolean skipWide, CudaBackend.GemmEngine gemm, List<String> sections) {
        this.repo = repo;
        this.work = work;
        this.quick = quick;
        this.skipWide = skipWide;
        this.gemm = gemm;
        this.sections = sections;
    }

    private boolean runs(String section) {
        return sections.contains(section) && !(skipWide && section.equals("wide"));
    }

    /** File-name suffix of this run's wide-MLP outputs: none for SGEMM, "-lt" for cuBLASLt. */
    private String suffix() {
        return gemm == CudaBackend.GemmEngine.SGEMM ? "" : "-" + gemm.name().toLowerCase(Locale.ROOT);
    }

    public static void main(String[] args) throws Exception {
        Path repo = Path.of(".gpu/demo-repo");
        Path work = Path.of(System.getProperty("java.io.tmpdir"), "weir-gpu-check");
        boolean quick = false;
        boolean skipWide = false;
        boolean cpuSmoke = false;
        CudaBackend.GemmEngine gemm = CudaBackend.GemmEngine.SGEMM;
        List<String> sections = ALL_SECTIONS;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--repo" -> repo = Path.of(args[++i]);
                case "--gemm" -> gemm = CudaBackend.GemmEngine.valueOf(args[++i].toUpperCase(Locale.ROOT));
                case "--sections" -> sections = List.of(args[++i].split(","));
                case "--work" -> work = Path.of(args[++i]);
                case "--quick" -> quick = true;
                case "--skip-wide" -> skipWide = true;
                case "--cpu-smoke" -> cpuSmoke = true;
                default -> {
                    System.err.println("usage: GpuCheck [--repo DIR] [--work DIR] [--quick] [--skip-wide] [--cpu-smoke]"
                            + " [--gemm sgemm|lt] [--sections " + String.join(",", ALL_SECTIONS) + "]");
                    System.exit(64);
                }
            }
        }
        Files.createDirectories(work);
        System.exit(new GpuCheck(repo, work, quick, skipWide, gemm, sections).run(cpuSmoke));
    }

    private static void say(String format, Object... args) {
        System.out.println(String.format(Locale.ROOT, format, args));
        System.out.flush();
    }

    private void section(String title) {
        say("%n=== %s ===", title);
    }

    private void check(boolean ok, String what) {
        say("%s %s", ok ? "PASS" : "FAIL", what);
        if (!ok) {
            failures.add(what);
        }
    }

    private void target(boolean met, String what) {
        String line = (met ? "TARGET MET    " : "TARGET MISSED ") + what;
        say("%s", line);
        targets.add(line);
    }

    private int run(boolean cpuSmoke) throws Exception {
        section("environment");
        say("java %s (%s), %d cpus", System.getProperty("java.version"), System.getProperty("java.vm.name"),
                Runtime.getRuntime().availableProcessors());
        CudaProbe probe = Cuda.probe();
        say("probe: %s", probe);
        say("cuBLAS: %s", Cublas.availability());
        say("NVRTC: %s", Nvrtc.availability());
        say("packaged PTX: %s", WeirKernels.packagedPtx().isPresent() ? "yes" : "no (NVRTC compiles the source)");
        say("repository: %s; GEMM engine: %s; sections: %s", repo.toAbsolutePath(), gemm, sections);

        if (!probe.available()) {
            if (cpuSmoke) {
                compileOnly();
                summary();
                return failures.isEmpty() ? 0 : 1;
            }
            say("FAIL no usable GPU: %s", probe.detail());
            return 2;
        }

        // The backend's own startup self-test is off here: the "selftest" section runs the same checks and reports
        // each one, and a single failing check must not hide the sections after it.
        CudaBackend.Config cfg = new CudaBackend.Config(0, 2, true, false, Duration.ofSeconds(5), false, gemm);
        try (CudaBackend backend = new CudaBackend(cfg, Ticker.system());
             OnnxRuntimeBackend ort = new OnnxRuntimeBackend(Math.max(1, Runtime.getRuntime().availableProcessors() / 2))) {
            Backend.Availability a = backend.availability();
            say("CUDA backend: %s; %s", a, backend.deviceDescription().orElse("-"));
            check(a.available(), "CUDA backend available");
            if (!a.available()) {
                summary();
                return 1;
            }
            CudaDevice device = backend.device();

            if (runs("selftest")) {
                section("self-test (kernels, cuBLAS, cuBLASLt, CUDA graph, NVRTC) vs CPU references");
                for (GpuSelfTest.Check c : GpuSelfTest.run(device.context(), device.kernels(), true, true, true)) {
                    check(c.passed(), c.name() + (c.maxError() > 0 ? String.format(Locale.ROOT, " (max rel err %.2e)", c.maxError()) : "")
                            + (c.detail().isEmpty() ? "" : " — " + c.detail()));
                }
            }
            if (runs("golden") || runs("latency")) {
                Map<ModelKey, LoadedModel[]> loaded = new LinkedHashMap<>();
                try {
                    guard("golden sets", () -> golden(backend, ort, runs("golden"), loaded));
                    if (runs("latency")) {
                        guard("latency", () -> latency(device, loaded));
                    }
                } finally {
                    for (LoadedModel[] pair : loaded.values()) {
                        pair[0].close();
                        pair[1].close();
                    }
                }
            }
            if (runs("wide")) {
                guard("wide MLP", () -> wideMlp(backend));
            }
            if (runs("search")) {
                guard("similarity search", () -> vectorSearch(backend));
            }

            section("device health after the run");
            say("%s", backend.health().map(Object::toString).orElse("-"));
            check(backend.health().map(h -> h.state() == CudaHealth.State.HEALTHY && h.deviceErrors() == 0).orElse(false),
                    "device healthy, no device errors recorded");
        }
        summary();
        return failures.isEmpty() ? 0 : 1;
    }

    private void summary() {
        section("summary");
        for (String t : targets) {
            say("%s", t);
        }
        if (failures.isEmpty()) {
            say("ALL CORRECTNESS CHECKS PASSED");
        } else {
            say("%d CHECK(S) FAILED:", failures.size());
            failures.forEach(f -> say("  - %s", f));
        }
    }

    /** No GPU: at least show which repository models the CUDA backend would take. */
    private void compileOnly() throws IOException {
        section("plan compilation (no GPU)");
        if (!Files.isDirectory(repo)) {
            say("no repository at %s", repo);
            return;
        }
        ModelRepository r = ModelRepository.open(repo);
        for (String model : r.models()) {
            for (String version : r.versions(model)) {
                ModelKey key = new ModelKey(model, version);
                try {
                    ModelArtifact art = r.read(key);
                    ExecutionPlan plan = OnnxPlanCompiler.compile(key, art.config(), art.onnx());
                    say("%s: GPU plan %s", key, plan.describe().lines().findFirst().orElse(""));
                } catch (ModelLoadException e) {
                    say("%s: stays on the CPU: %s", key, e.getMessage());
                }
            }
        }
    }

    private static Map<String, Tensor> randomInputs(ModelConfig config, int rows, Random rnd) {
        Map<String, Tensor> in = new LinkedHashMap<>();
        for (TensorSpec s : config.inputs()) {
            long[] shape = s.shape();
            shape[0] = rows;
            int n = rows * s.rowWidth();
            if (s.dataType() == DataType.FP32) {
                float[] x = new float[n];
                for (int i = 0; i < n; i++) {
                    x[i] = rnd.nextFloat() * 2 - 1;
                }
                in.put(s.name(), Tensor.ofFloats(shape, x));
            } else {
                in.put(s.name(), Tensor.ofLongs(shape, new long[n]));
            }
        }
        return in;
    }

    /** max over outputs of |a - b| / max(1, |b|). */
    private static double maxRelErr(Map<String, Tensor> got, Map<String, Tensor> want) {
        double worst = 0;
        for (Map.Entry<String, Tensor> e : want.entrySet()) {
            float[] w = e.getValue().floats();
            float[] g = got.get(e.getKey()).floats();
            if (g.length != w.length) {
                return Double.POSITIVE_INFINITY;
            }
            for (int i = 0; i < w.length; i++) {
                double d = Math.abs((double) g[i] - w[i]) / Math.max(1.0, Math.abs(w[i]));
                if (!(d <= worst)) {
                    worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                }
            }
        }
        return worst;
    }

    /** Loads every version on CPU and CUDA, replays golden sets, compares on random batches. */
    /** Runs one section; an exception fails that section and the check goes on with the next. */
    private void guard(String name, Op section) {
        try {
            section.run();
        } catch (Exception | Error e) {
            check(false, name + " section aborted: " + e);
            e.printStackTrace(System.out);
        }
    }

    private void golden(CudaBackend backend, OnnxRuntimeBackend ort, boolean compare, Map<ModelKey, LoadedModel[]> loaded)
            throws Exception {
        section(compare ? "golden sets: CUDA vs ONNX Runtime CPU (tolerance 1e-4 relative, fp32)" : "loading models");
        if (!Files.isDirectory(repo)) {
            check(false, "model repository present at " + repo.toAbsolutePath());
            return;
        }
        ModelRepository r = ModelRepository.open(repo);
        Random rnd = new Random(7);
        for (String model : r.models()) {
            for (String version : r.versions(model)) {
                ModelKey key = new ModelKey(model, version);
                ModelArtifact art;
                try {
                    art = r.read(key);
                } catch (ModelLoadException e) {
                    say("SKIP %s: the repository entry is unreadable: %s", key, e.getMessage());
                    continue;
                }
                LoadedModel cpu = ort.load(art);
                LoadedModel cuda;
                try {
                    cuda = backend.load(art);
                } catch (ModelLoadException e) {
                    say("%s: refused by CUDA, served on the CPU: %s", key, e.getMessage());
                    cpu.close();
                    continue;
                }
                loaded.put(key, new LoadedModel[] {cuda, cpu});
                Warmup.run(cuda, art.config());
                if (!compare) {
                    continue;
                }
                Path golden = repo.resolve(model).resolve(version).resolve("golden.jsonl");
                if (Files.exists(golden)) {
                    GoldenReplay.Result gc = GoldenReplay.replay(art.config(), cuda, golden);
                    GoldenReplay.Result gp = GoldenReplay.replay(art.config(), cpu, golden);
                    say("%s golden: CUDA %s", key, gc);
                    say("%s golden: CPU  %s", key, gp);
                    check(gc.mismatches() == 0 && gc.maxAbsDiff() <= TOLERANCE,
                            String.format(Locale.ROOT, "%s golden replay on CUDA: %d requests, %d rows, max |diff| %.2e, mismatches %d",
                                    key, gc.requests(), gc.rows(), gc.maxAbsDiff(), gc.mismatches()));
                    check(gc.auc().isEmpty() || Math.abs(gc.auc().getAsDouble() - gp.auc().orElse(Double.NaN)) < 1e-3,
                            key + " golden AUC on CUDA matches the CPU's");
                }
                double worst = 0;
                for (int rows : LATENCY_ROWS) {
                    Map<String, Tensor> in = randomInputs(art.config(), rows, rnd);
                    Map<String, Tensor> want = cpu.run(in);
                    for (int rep = 0; rep < 5; rep++) { // two workers alternate: eager, eager, capture, capture, replay
                        worst = Math.max(worst, maxRelErr(cuda.run(in), want));
                    }
                }
                check(worst <= TOLERANCE, String.format(Locale.ROOT,
                        "%s CUDA vs ONNX Runtime on random batches 1..1024 rows (eager and graph): max rel err %.2e", key, worst));
            }
        }
    }

    private record Stats(double p50, double p99, double mean, int n) {
        static Stats of(long[] nanos, int n) {
            long[] s = Arrays.copyOf(nanos, n);
            Arrays.sort(s);
            double mean = Arrays.stream(s).average().orElse(Double.NaN);
            return new Stats(s[n / 2] / 1e3, s[Math.min(n - 1, (int) Math.ceil(n * 0.99) - 1)] / 1e3, mean / 1e3, n);
        }
    }

    private interface Op {
        void run() throws Exception;
    }

    private Stats time(Op op) throws Exception {
        int warm = quick ? 20 : 100;
        for (int i = 0; i < warm; i++) {
            op.run();
        }
        int max = quick ? 200 : 2000;
        long budget = quick ? 300_000_000L : 1_000_000_000L;
        long[] samples = new long[max];
        int n = 0;
        long start = System.nanoTime();
        while (n < max && (n < 50 || System.nanoTime() - start < budget)) {
            long t0 = System.nanoTime();
            op.run();
            samples[n++] = System.nanoTime() - t0;
        }
        return Stats.of(samples, n);
    }

    private void latency(CudaDevice device, Map<ModelKey, LoadedModel[]> loaded) throws Exception {
        section("latency: ranker end to end vs bare FFM round trip (microseconds)");
        Optional<Map.Entry<ModelKey, LoadedModel[]>> ranker = loaded.entrySet().stream()
                .filter(e -> e.getKey().model().equals("ranker")).reduce((a, b) -> b);
        if (ranker.isEmpty()) {
            ranker = loaded.entrySet().stream().findFirst();
        }
        if (ranker.isEmpty()) {
            check(false, "a model the CUDA backend runs, for the latency section");
            return;
        }
        ModelKey key = ranker.get().getKey();
        LoadedModel cuda = ranker.get().getValue()[0];
        LoadedModel cpu = ranker.get().getValue()[1];
        ModelConfig config = ModelRepository.open(repo).read(key).config(); // read fine in golden() already
        say("model %s; inputs %s; outputs %s", key, config.inputs(), config.outputs());
        say("%6s | %-28s | %-28s | %-20s | %s", "rows", "CUDA run() p50/p99/mean", "bare round trip p50/p99", "ORT CPU p50", "CUDA/bare p50");
        Random rnd = new Random(11);
        int inWidth = config.inputs().stream().mapToInt(TensorSpec::rowWidth).sum();
        int outWidth = config.outputs().stream().mapToInt(TensorSpec::rowWidth).sum();
        for (int rows : LATENCY_ROWS) {
            Map<String, Tensor> in = randomInputs(config, rows, rnd);
            Stats c = time(() -> cuda.run(in));
            Stats bare = bareRoundTrip(device, rows * inWidth, rows * outWidth);
            Stats o = time(() -> cpu.run(in));
            double ratio = c.p50() / bare.p50();
            say("%6d | %8.1f %8.1f %8.1f    | %8.1f %8.1f             | %8.1f             | %.2fx",
                    rows, c.p50(), c.p99(), c.mean(), bare.p50(), bare.p99(), o.p50(), ratio);
            if (rows <= SMALL_BATCH_MAX) {
                target(ratio <= 3.0, String.format(Locale.ROOT, "ranker at %d rows: CUDA p50 %.1f us = %.2fx bare round trip %.1f us (<= 3x)",
                        rows, c.p50(), ratio, bare.p50()));
            }
        }
    }

    /** Heap -> pinned -> device, copy kernel, device -> pinned -> heap, synchronize: the floor of any GPU call. */
    private Stats bareRoundTrip(CudaDevice device, int inFloats, int outFloats) throws Exception {
        var ctx = device.context();
        float[] src = new float[inFloats];
        Arrays.fill(src, 1.5f);
        try (CudaStream s = ctx.createStream();
             PinnedHostBuffer hin = ctx.allocatePinned(4L * inFloats);
             PinnedHostBuffer hout = ctx.allocatePinned(4L * Math.max(1, outFloats));
             DeviceBuffer din = ctx.allocate(4L * inFloats);
             DeviceBuffer dout = ctx.allocate(4L * Math.max(inFloats, outFloats))) {
            MemorySegment pin = hin.segment();
            MemorySegment pout = hout.segment();
            return time(() -> {
                MemorySegment.copy(src, 0, pin, ValueLayout.JAVA_FLOAT, 0, inFloats);
                din.copyFromHostAsync(pin, 0, 0, 4L * inFloats, s);
                device.kernels().copy(s, din.address(), dout.address(), inFloats);
                dout.copyToHostAsync(pout, 0, 0, 4L * outFloats, s);
                s.synchronize();
                float[] back = new float[outFloats];
                MemorySegment.copy(pout, ValueLayout.JAVA_FLOAT, 0, back, 0, outFloats);
            });
        }
    }

    private static void writeFloats(Path file, float[] data, int from, int count) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(4 * count).order(ByteOrder.LITTLE_ENDIAN);
        buf.asFloatBuffer().put(data, from, count);
        try (OutputStream out = Files.newOutputStream(file)) {
            out.write(buf.array());
        }
    }

    private void wideMlp(CudaBackend backend) throws Exception {
        section("wide MLP: " + WIDE_LAYERS + " x Linear(" + WIDE + ") + ReLU, batch " + WIDE + ", fp32 (no TF32), GEMM " + gemm);
        Random rnd = new Random(4096);
        float scale = (float) (1.0 / Math.sqrt(WIDE));
        OnnxGraphBuilder g = new OnnxGraphBuilder("wide_mlp");
        TensorSpec x = new TensorSpec("x", DataType.FP32, new long[] {-1, WIDE});
        TensorSpec y = new TensorSpec("y", DataType.FP32, new long[] {-1, WIDE});
        g.input(x).output(y);
        Path dir = work.resolve("wide");
        Files.createDirectories(dir);
        String prev = "x";
        for (int l = 0; l < WIDE_LAYERS; l++) {
            float[] w = new float[WIDE * WIDE];
            for (int i = 0; i < w.length; i++) {
                w[i] = (float) rnd.nextGaussian() * scale * 1.4f;
            }
            float[] b = new float[WIDE];
            for (int i = 0; i < WIDE; i++) {
                b[i] = (float) rnd.nextGaussian() * 0.1f;
            }
            writeFloats(dir.resolve("w" + l + ".f32"), w, 0, w.length);
            writeFloats(dir.resolve("b" + l + ".f32"), b, 0, b.length);
            g.initializer("w" + l, new long[] {WIDE, WIDE}, w).initializer("b" + l, new long[] {WIDE}, b);
            String out = l == WIDE_LAYERS - 1 ? "y" : "h" + l;
            if (l == WIDE_LAYERS - 1) {
                g.gemm(prev, "w" + l, "b" + l, out);
            } else {
                g.gemm(prev, "w" + l, "b" + l, "z" + l).relu("z" + l, out);
            }
            prev = out;
        }
        ModelConfig config = new ModelConfig("wide_mlp", List.of(x), List.of(y), WIDE, ModelConfig.Oversize.SPLIT, 1000,
                new JsonObject(), Optional.empty(), Optional.empty(), new ModelConfig.Acceptance(0, 1e-4));
        ModelArtifact art = new ModelArtifact(new ModelKey("wide_mlp", "1.0.0"), config, dir, g.toBytes(), "generated");
        float[] input = new float[WIDE * WIDE];
        for (int i = 0; i < input.length; i++) {
            input[i] = rnd.nextFloat() * 2 - 1;
        }
        writeFloats(dir.resolve("x.f32"), input, 0, input.length);
        Map<String, Tensor> in = Map.of("x", Tensor.ofFloats(new long[] {WIDE, WIDE}, input));
        try (LoadedModel m = backend.load(art)) {
            CudaLoadedModel cm = (CudaLoadedModel) m;
            say("plan: %s", cm.plan().describe().replace("\n", "\n      "));
            Map<String, Tensor> out = m.run(in);
            int checkRows = 64;
            String outFile = "y_weir_rows64" + suffix() + ".f32";
            writeFloats(dir.resolve(outFile), out.get("y").floats(), 0, checkRows * WIDE);
            int reps = quick ? 3 : 10;
            long[] e2e = new long[reps];
            for (int i = 0; i < reps; i++) {
                long t0 = System.nanoTime();
                m.run(in);
                e2e[i] = System.nanoTime() - t0;
            }
            Arrays.sort(e2e);
            double e2eMs = e2e[reps / 2] / 1e6;
            int iters = quick ? 5 : 20;
            double eager = cm.computeMillis(WIDE, iters, false);
            double graph = cm.computeMillis(WIDE, iters, true);
            double gflop = 2.0 * WIDE * WIDE * WIDE * WIDE_LAYERS / 1e9;
            say("Weir end to end (float[] in -> float[] out, incl. H2D/D2H of 64 MiB each way): p50 %.2f ms", e2eMs);
            say("Weir compute only (GEMMs + fused bias/ReLU kernels): eager %.3f ms (%.1f TFLOP/s), CUDA graph %.3f ms",
                    eager, gflop / eager, graph);
            JsonObject json = new JsonObject()
                    .put("engine", gemm.name().toLowerCase(Locale.ROOT)).put("output_file", outFile)
                    .put("width", WIDE).put("layers", WIDE_LAYERS).put("batch", WIDE).put("relu_after_last", false)
                    .put("dir", dir.toAbsolutePath().toString())
                    .put("weir_e2e_ms", e2eMs).put("weir_compute_eager_ms", eager).put("weir_compute_graph_ms", graph)
                    .put("weir_output_rows", checkRows)
                    .put("files", new JsonArray().add("x.f32").add("w{l}.f32 [in,out]").add("b{l}.f32").add(outFile));
            Path meta = dir.resolve("wide" + suffix() + ".json");
            Files.writeString(meta, json.encodePrettily());
            say("wrote %s for gpu_check_torch.py", meta);
        }
    }

    private void vectorSearch(CudaBackend backend) throws Exception {
        section("similarity search: GPU (GEMM + weir_topk_rows) vs exact CPU");
        int items = quick ? 20_000 : 200_000;
        int dims = 64;
        EmbeddingIndex index = DemoEmbeddings.generate("gpu-check", 99, items, dims, 50, 0).index();
        int q = 64;
        int k = 10;
        float[] queries = new float[q * dims];
        for (int i = 0; i < q; i++) {
            System.arraycopy(index.vector(i * 7), 0, queries, i * dims, dims);
        }
        int[] ks = new int[q];
        Arrays.fill(ks, k);
        int[][] exclude = new int[q][];
        for (int i = 0; i < q; i++) {
            exclude[i] = new int[] {i * 7};
        }
        try (VectorSearch gpu = backend.vectorSearchFactory(1).create(index);
             VectorSearch cpu = VectorSearch.cpu(Math.max(1, Runtime.getRuntime().availableProcessors())).create(index)) {
            check(gpu.kind().equals("cuda"), "embedding index placed on the GPU");
            VectorSearch.Hits[] hg = gpu.search(queries, q, ks, exclude);
            VectorSearch.Hits[] hc = cpu.search(queries, q, ks, exclude);
            double worst = 0;
            int rowDiffs = 0;
            for (int i = 0; i < q; i++) {
                for (int j = 0; j < k; j++) {
                    worst = Math.max(worst, Math.abs(hg[i].scores()[j] - hc[i].scores()[j]));
                    if (hg[i].rows()[j] != hc[i].rows()[j]) {
                        rowDiffs++;
                    }
                    if (hg[i].rows()[j] == exclude[i][0]) {
                        worst = Double.POSITIVE_INFINITY;
                    }
                }
            }
            check(worst <= 1e-4, String.format(Locale.ROOT, "GPU top-%d of %d items matches the CPU: max score diff %.2e, "
                    + "%d rank positions hold a different row (near-ties)", k, items, worst, rowDiffs));
            Stats sg = time(() -> gpu.search(queries, q, ks, exclude));
            Stats sc = time(() -> cpu.search(queries, q, ks, exclude));
            say("batch of %d queries over %d x %d: GPU p50 %.1f us, CPU (%d threads) p50 %.1f us",
                    q, items, dims, sg.p50(), Runtime.getRuntime().availableProcessors(), sc.p50());
        }
    }
}
