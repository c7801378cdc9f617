package io.weir.nativebindings;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Supplier;

/**
 * Checks that this GPU computes what Weir expects: memory round trips, every kernel of
 * weir_kernels.cu, cuBLAS GEMMs (all transposes), a CUDA graph replay and, when available, the
 * NVRTC path, each against a CPU reference. Small sizes: a run takes well under a second once the
 * module is loaded. Used by the GPU-guarded tests, by {@code GpuCheck} on GPU machines and by the
 * CUDA backend before it declares itself healthy.
 *
 * <p>Design note (concurrency): single-threaded; a run owns its stream, buffers and cuBLAS handle
 * and closes them before returning. Needs a context current-able on the calling thread.
 */
public final class GpuSelfTest {

    /** One check's outcome. {@code maxError} is the largest absolute difference seen (0 for exact checks). */
    public record Check(String name, boolean passed, double maxError, String detail) {

        @Override
        public String toString() {
            return (passed ? "PASS " : "FAIL ") + name + (maxError > 0 ? String.format(" maxErr=%.3g", maxError) : "")
                    + (detail.isEmpty() ? "" : " — " + detail);
        }
    }

    private static final float TOL = 1e-5f;

    private final CudaContext ctx;
    private final WeirKernels kernels;
    private final List<Check> checks = new ArrayList<>();
    private final Random random = new Random(20240601);

    private GpuSelfTest(CudaContext ctx, WeirKernels kernels) {
        this.ctx = ctx;
        this.kernels = kernels;
    }

    /**
     * Runs every check with {@code kernels} (already loaded on {@code ctx}). Never throws for a
     * failed check; a GPU exception inside a check is recorded as that check's failure.
     *
     * @param includeCublas also check cuBLAS (reported as failed when libcublas is missing)
     * @param includeNvrtc  also compile the kernels with NVRTC and run one of them
     */
    public static List<Check> run(CudaContext ctx, WeirKernels kernels, boolean includeCublas, boolean includeNvrtc) {
        return run(ctx, kernels, includeCublas, includeNvrtc, false);
    }

    /** As {@link #run(CudaContext, WeirKernels, boolean, boolean)}, optionally also checking cuBLASLt epilogue GEMMs. */
    public static List<Check> run(CudaContext ctx, WeirKernels kernels, boolean includeCublas, boolean includeNvrtc,
                                  boolean includeCublasLt) {
        GpuSelfTest t = new GpuSelfTest(ctx, kernels);
        try (CudaStream stream = ctx.createStream()) {
            t.check("memory round trip (pinned H2D, D2D, memset, D2H)", () -> t.memoryRoundTrip(stream));
            for (Activation a : Activation.values()) {
                t.check("weir_bias_act " + a, () -> t.biasAct(stream, a, 37, 300, true));
            }
            t.check("weir_bias_act no bias", () -> t.biasAct(stream, Activation.RELU, 5, 7, false));
            t.check("weir_activation TANH", () -> t.activation(stream));
            t.check("weir_sigmoid", () -> t.sigmoid(stream));
            t.check("weir_add same shape + broadcast", () -> t.add(stream));
            t.check("weir_softmax_rows 13x1000", () -> t.softmax(stream, 13, 1000));
            t.check("weir_softmax_rows 64x7", () -> t.softmax(stream, 64, 7));
            t.check("weir_gather_rows (negative + out-of-range ids)", () -> t.gather(stream));
            t.check("weir_topk_rows k=1", () -> t.topk(stream, 9, 5000, 1));
            t.check("weir_topk_rows k=7 with ties", () -> t.topk(stream, 9, 777, 7));
            t.check("weir_topk_rows k=32", () -> t.topk(stream, 3, 10000, 32));
            t.check("weir_copy_f32", () -> t.copy(stream));
            if (includeCublas) {
                LibraryStatus cublas = Cublas.availability();
                if (!cublas.available()) {
                    t.checks.add(new Check("cuBLAS", false, 0, cublas.detail()));
                } else {
                    for (boolean ta : new boolean[] {false, true}) {
                        for (boolean tb : new boolean[] {false, true}) {
                            t.check("cublasSgemm row-major transA=" + ta + " transB=" + tb, () -> t.gemm(stream, ta, tb));
                        }
                    }
                    t.check("CUDA graph: H2D + sgemm + bias/relu + D2H, replayed twice", () -> t.graph(stream));
                }
            }
            if (includeCublasLt) {
                LibraryStatus lt = CublasLt.availability();
                if (!lt.available()) {
                    t.checks.add(new Check("cuBLASLt", false, 0, lt.detail()));
                } else {
                    for (boolean ta : new boolean[] {false, true}) {
                        for (boolean tb : new boolean[] {false, true}) {
                            for (CublasLt.Epilogue ep : CublasLt.Epilogue.values()) {
                                t.check("cublasLtMatmul row-major transA=" + ta + " transB=" + tb + " " + ep,
                                        () -> t.gemmLt(stream, ta, tb, ep));
                            }
                        }
                    }
                }
            }
            t.check("events time GPU work", () -> t.events(stream));
            if (includeNvrtc) {
                LibraryStatus nvrtc = Nvrtc.availability();
                if (!nvrtc.available()) {
                    t.checks.add(new Check("NVRTC", false, 0, nvrtc.detail()));
                } else {
                    t.check("NVRTC-compiled kernels", () -> t.nvrtc(stream));
                }
            }
        }
        return List.copyOf(t.checks);
    }

    /** True when every check passed. */
    public static boolean allPassed(List<Check> checks) {
        return checks.stream().allMatch(Check::passed);
    }

    private void check(String name, Supplier<Check> body) {
        try {
            Check c = body.get();
            checks.add(new Check(name, c.passed(), c.maxError(), c.detail()));
        } catch (GpuException | IllegalStateException | IllegalArgumentException | LinkageError e) {
            // LinkageError: a driver older than the headers the bindings were made from lacks a symbol (e.g.
            // cuEventElapsedTime_v2 before 12.8); that check fails, and with it the self-test, instead of the caller.
            checks.add(new Check(name, false, 0, e.toString()));
        }
    }

    private static Check compare(float[] expected, float[] actual, float tol) {
        double maxErr = 0;
        int worst = -1;
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i];
            double a = actual[i];
            double err = Math.abs(e - a);
            if (Double.isNaN(a) != Double.isNaN(e)) {
                return new Check("", false, Double.NaN, "NaN mismatch at " + i + ": expected " + e + ", got " + a);
            }
            double scaled = err / Math.max(1.0, Math.abs(e));
            if (scaled > maxErr) {
                maxErr = scaled;
                worst = i;
            }
        }
        boolean ok = maxErr <= tol;
        return new Check("", ok, maxErr, ok ? "" : "worst at " + worst + ": expected " + expected[worst] + ", got " + actual[worst]);
    }

    private float[] randoms(int n, float scale) {
        float[] x = new float[n];
        for (int i = 0; i < n; i++) {
            x[i] = (random.nextFloat() * 2 - 1) * scale;
        }
        return x;
    }

    /** Device buffer holding {@code data}, uploaded synchronously. */
    private DeviceBuffer upload(CudaStream s, float[] data, Arena arena) {
        DeviceBuffer d = ctx.allocate(4L * data.length, arena);
        MemorySegment host = arena.allocate(4L * data.length, 64);
        MemorySegment.copy(data, 0, host, ValueLayout.JAVA_FLOAT, 0, data.length);
        d.copyFromHost(host, s);
        return d;
    }

    private DeviceBuffer uploadLongs(CudaStream s, long[] data, Arena arena) {
        DeviceBuffer d = ctx.allocate(8L * data.length, arena);
        MemorySegment host = arena.allocate(8L * data.length, 64);
        MemorySegment.copy(data, 0, host, ValueLayout.JAVA_LONG, 0, data.length);
        d.copyFromHost(host, s);
        return d;
    }

    private static float[] download(CudaStream s, DeviceBuffer d, int n, Arena arena) {
        MemorySegment host = arena.allocate(4L * n, 64);
        d.copyToHostAsync(host, 0, 0, 4L * n, s);
        s.synchronize();
        return host.toArray(ValueLayout.JAVA_FLOAT);
    }

    private static int[] downloadInts(CudaStream s, DeviceBuffer d, int n, Arena arena) {
        MemorySegment host = arena.allocate(4L * n, 64);
        d.copyToHostAsync(host, 0, 0, 4L * n, s);
        s.synchronize();
        return host.toArray(ValueLayout.JAVA_INT);
    }

    private Check memoryRoundTrip(CudaStream s) {
        int n = 1 << 16;
        try (Arena arena = Arena.ofConfined(); PinnedHostBuffer pin = ctx.allocatePinned(4L * n)) {
            float[] data = randoms(n, 100f);
            MemorySegment.copy(data, 0, pin.segment(), ValueLayout.JAVA_FLOAT, 0, n);
            DeviceBuffer a = ctx.allocate(4L * n, arena);
            DeviceBuffer b = ctx.allocate(4L * n, arena);
            b.fillAsync((byte) 0x7f, s);
            a.copyFromHostAsync(pin.segment(), 0, 0, 4L * n, s);
            b.copyFromDeviceAsync(a, 4L * 8, 0, 4L * (n - 8), s);
            s.synchronize(); // the H2D copy reads the pinned buffer asynchronously: wait before reusing it
            pin.segment().fill((byte) 0);
            b.copyToHostAsync(pin.segment(), 0, 0, 4L * n, s);
            s.synchronize();
            float[] back = pin.segment().toArray(ValueLayout.JAVA_FLOAT);
            for (int i = 0; i < n - 8; i++) {
                if (Float.floatToRawIntBits(back[i]) != Float.floatToRawIntBits(data[i + 8])) {
                    return new Check("", false, 0, "mismatch at " + i);
                }
            }
            for (int i = n - 8; i < n; i++) {
                if (Float.floatToRawIntBits(back[i]) != 0x7f7f7f7f) {
                    return new Check("", false, 0, "memset tail mismatch at " + i);
                }
            }
            return new Check("", true, 0, "");
        }
    }

    private Check biasAct(CudaStream s, Activation act, int rows, int cols, boolean withBias) {
        try (Arena arena = Arena.ofConfined()) {
            float[] x = randoms(rows * cols, 4f);
            float[] bias = randoms(cols, 1f);
            DeviceBuffer dx = upload(s, x, arena);
            DeviceBuffer db = upload(s, bias, arena);
            DeviceBuffer dy = ctx.allocate(4L * x.length, arena);
            kernels.biasActivation(s, dx.address(), withBias ? db.address() : 0, dy.address(), rows, cols, act);
            kernels.biasActivation(s, dx.address(), withBias ? db.address() : 0, dx.address(), rows, cols, act); // in place
            float[] expected = new float[x.length];
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    expected[r * cols + c] = act.apply(x[r * cols + c] + (withBias ? bias[c] : 0f));
                }
            }
            Check out = compare(expected, download(s, dy, x.length, arena), TOL);
            Check in = compare(expected, download(s, dx, x.length, arena), TOL);
            return out.passed() ? in : out;
        }
    }

    private Check activation(CudaStream s) {
        try (Arena arena = Arena.ofConfined()) {
            float[] x = randoms(10_001, 6f);
            DeviceBuffer dx = upload(s, x, arena);
            DeviceBuffer dy = ctx.allocate(4L * x.length, arena);
            kernels.activation(s, dx.address(), dy.address(), x.length, Activation.TANH);
            float[] expected = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                expected[i] = Activation.TANH.apply(x[i]);
            }
            return compare(expected, download(s, dy, x.length, arena), TOL);
        }
    }

    private Check sigmoid(CudaStream s) {
        try (Arena arena = Arena.ofConfined()) {
            float[] x = randoms(4099, 30f);
            x[0] = -200f;
            x[1] = 200f;
            DeviceBuffer dx = upload(s, x, arena);
            DeviceBuffer dy = ctx.allocate(4L * x.length, arena);
            kernels.sigmoid(s, dx.address(), dy.address(), x.length);
            float[] expected = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                expected[i] = Activation.SIGMOID.apply(x[i]);
            }
            return compare(expected, download(s, dy, x.length, arena), TOL);
        }
    }

    private Check add(CudaStream s) {
        try (Arena arena = Arena.ofConfined()) {
            int rows = 33;
            int cols = 129;
            float[] a = randoms(rows * cols, 3f);
            float[] b = randoms(rows * cols, 3f);
            float[] row = randoms(cols, 3f);
            DeviceBuffer da = upload(s, a, arena);
            DeviceBuffer db = upload(s, b, arena);
            DeviceBuffer dr = upload(s, row, arena);
            DeviceBuffer dy = ctx.allocate(4L * a.length, arena);
            DeviceBuffer dz = ctx.allocate(4L * a.length, arena);
            kernels.add(s, da.address(), db.address(), dy.address(), a.length, a.length);
            kernels.add(s, da.address(), dr.address(), dz.address(), a.length, cols);
            float[] ey = new float[a.length];
            float[] ez = new float[a.length];
            for (int i = 0; i < a.length; i++) {
                ey[i] = a[i] + b[i];
                ez[i] = a[i] + row[i % cols];
            }
            Check c1 = compare(ey, download(s, dy, a.length, arena), TOL);
            return c1.passed() ? compare(ez, download(s, dz, a.length, arena), TOL) : c1;
        }
    }

    private Check softmax(CudaStream s, int rows, int cols) {
        try (Arena arena = Arena.ofConfined()) {
            float[] x = randoms(rows * cols, 20f);
            DeviceBuffer dx = upload(s, x, arena);
            DeviceBuffer dy = ctx.allocate(4L * x.length, arena);
            kernels.softmaxRows(s, dx.address(), dy.address(), rows, cols);
            float[] expected = new float[x.length];
            for (int r = 0; r < rows; r++) {
                double max = Double.NEGATIVE_INFINITY;
                for (int c = 0; c < cols; c++) {
                    max = Math.max(max, x[r * cols + c]);
                }
                double sum = 0;
                for (int c = 0; c < cols; c++) {
                    sum += Math.exp(x[r * cols + c] - max);
                }
                for (int c = 0; c < cols; c++) {
                    expected[r * cols + c] = (float) (Math.exp(x[r * cols + c] - max) / sum);
                }
            }
            return compare(expected, download(s, dy, x.length, arena), TOL);
        }
    }

    private Check gather(CudaStream s) {
        try (Arena arena = Arena.ofConfined()) {
            int vocab = 1000;
            int dim = 48;
            float[] table = randoms(vocab * dim, 1f);
            long[] ids = {0, 999, -1, 500, 1000, -1001, 17, 17};
            DeviceBuffer dt = upload(s, table, arena);
            DeviceBuffer di = uploadLongs(s, ids, arena);
            DeviceBuffer dout = ctx.allocate(4L * ids.length * dim, arena);
            DeviceBuffer derr = ctx.allocate(4, arena);
            derr.fillAsync((byte) 0, s);
            kernels.gatherRows(s, dt.address(), di.address(), dout.address(), ids.length, dim, vocab, derr.address());
            float[] expected = new float[ids.length * dim];
            for (int i = 0; i < ids.length; i++) {
                long id = ids[i] < 0 ? ids[i] + vocab : ids[i];
                if (id >= 0 && id < vocab) {
                    System.arraycopy(table, (int) id * dim, expected, i * dim, dim);
                }
            }
            Check c = compare(expected, download(s, dout, expected.length, arena), 0f);
            int err = downloadInts(s, derr, 1, arena)[0];
            if (c.passed() && err != 1) {
                return new Check("", false, 0, "error flag not set for out-of-range ids (got " + err + ")");
            }
            return c;
        }
    }

    private Check topk(CudaStream s, int rows, int cols, int k) {
        try (Arena arena = Arena.ofConfined()) {
            float[] x = randoms(rows * cols, 1f);
            for (int i = 0; i < x.length; i += 3) {
                x[i] = Math.round(x[i] * 4) / 4f; // plenty of exact ties
            }
            DeviceBuffer dx = upload(s, x, arena);
            DeviceBuffer dv = ctx.allocate(4L * rows * k, arena);
            DeviceBuffer di = ctx.allocate(4L * rows * k, arena);
            kernels.topkRows(s, dx.address(), rows, cols, k, dv.address(), di.address());
            float[] vals = download(s, dv, rows * k, arena);
            int[] idx = downloadInts(s, di, rows * k, arena);
            for (int r = 0; r < rows; r++) {
                Integer[] order = new Integer[cols];
                for (int c = 0; c < cols; c++) {
                    order[c] = c;
                }
                final int row = r;
                // The kernel's order: larger value first (== equality, so -0.0 ties with 0.0), then smaller index.
                Arrays.sort(order, (p, q) -> {
                    float vp = x[row * cols + p];
                    float vq = x[row * cols + q];
                    return vp > vq ? -1 : vp < vq ? 1 : Integer.compare(p, q);
                });
                for (int j = 0; j < k; j++) {
                    int want = order[j];
                    if (idx[r * k + j] != want || vals[r * k + j] != x[r * cols + want]) {
                        return new Check("", false, 0, "row " + r + " rank " + j + ": expected " + want + "=" + x[r * cols + want]
                                + ", got " + idx[r * k + j] + "=" + vals[r * k + j]);
                    }
                }
            }
            return new Check("", true, 0, "");
        }
    }

    private Check copy(CudaStream s) {
        try (Arena arena = Arena.ofConfined()) {
            float[] x = randoms(100_003, 1f);
            DeviceBuffer dx = upload(s, x, arena);
            DeviceBuffer dy = ctx.allocate(4L * x.length, arena);
            kernels.copy(s, dx.address(), dy.address(), x.length);
            return compare(x, download(s, dy, x.length, arena), 0f);
        }
    }

    private static float[] cpuGemm(boolean ta, boolean tb, int m, int n, int k, float[] a, float[] b) {
        float[] c = new float[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int p = 0; p < k; p++) {
                    float av = ta ? a[p * m + i] : a[i * k + p];
                    float bv = tb ? b[j * k + p] : b[p * n + j];
                    sum += (double) av * bv;
                }
                c[i * n + j] = (float) sum;
            }
        }
        return c;
    }

    private Check gemm(CudaStream s, boolean ta, boolean tb) {
        int m = 67;
        int n = 45;
        int k = 129;
        try (Arena arena = Arena.ofConfined(); Cublas blas = ctx.createCublas()) {
            blas.setStream(s);
            float[] a = randoms(m * k, 1f);
            float[] b = randoms(k * n, 1f);
            DeviceBuffer da = upload(s, a, arena);
            DeviceBuffer db = upload(s, b, arena);
            DeviceBuffer dc = ctx.allocate(4L * m * n, arena);
            blas.sgemmRowMajor(ta, tb, m, n, k, 1f, da.address(), db.address(), 0f, dc.address());
            return compare(cpuGemm(ta, tb, m, n, k, a, b), download(s, dc, m * n, arena), 1e-4f);
        }
    }

    private Check gemmLt(CudaStream s, boolean ta, boolean tb, CublasLt.Epilogue ep) {
        int m = 33;
        int n = 70;
        int k = 129;
        boolean withBias = ep == CublasLt.Epilogue.BIAS || ep == CublasLt.Epilogue.RELU_BIAS;
        boolean relu = ep == CublasLt.Epilogue.RELU || ep == CublasLt.Epilogue.RELU_BIAS;
        try (Arena arena = Arena.ofConfined(); CublasLt lt = CublasLt.create(ctx)) {
            float[] a = randoms(m * k, 1f);
            float[] b = randoms(k * n, 1f);
            float[] bias = randoms(n, 1f);
            DeviceBuffer da = upload(s, a, arena);
            DeviceBuffer db = upload(s, b, arena);
            DeviceBuffer dbias = upload(s, bias, arena);
            DeviceBuffer dc = ctx.allocate(4L * m * n, arena);
            DeviceBuffer ws = ctx.allocate(8L << 20, arena);
            try (CublasLt.Plan plan = lt.plan(ta, tb, m, n, k, ep, withBias ? dbias.address() : 0, ws.byteSize())) {
                lt.matmul(plan, 0.5f, da.address(), db.address(), 0f, dc.address(), ws, s);
                float[] expected = cpuGemm(ta, tb, m, n, k, a, b);
                for (int i = 0; i < expected.length; i++) {
                    float v = 0.5f * expected[i] + (withBias ? bias[i % n] : 0f);
                    expected[i] = relu ? Math.max(0f, v) : v;
                }
                return compare(expected, download(s, dc, m * n, arena), 1e-4f);
            }
        }
    }

    private Check graph(CudaStream s) {
        int m = 16;
        int n = 64;
        int k = 32;
        try (Arena arena = Arena.ofConfined(); Cublas blas = ctx.createCublas();
             PinnedHostBuffer in = ctx.allocatePinned(4L * m * k); PinnedHostBuffer out = ctx.allocatePinned(4L * m * n)) {
            DeviceBuffer workspace = ctx.allocate(4L << 20, arena);
            blas.setStream(s);
            blas.setWorkspace(workspace);
            float[] w = randoms(k * n, 1f);
            float[] bias = randoms(n, 1f);
            DeviceBuffer dw = upload(s, w, arena);
            DeviceBuffer db = upload(s, bias, arena);
            DeviceBuffer dx = ctx.allocate(in.byteSize(), arena);
            DeviceBuffer dy = ctx.allocate(out.byteSize(), arena);
            Runnable body = () -> {
                dx.copyFromHostAsync(in.segment(), 0, 0, in.byteSize(), s);
                blas.sgemmRowMajor(false, false, m, n, k, 1f, dx.address(), dw.address(), 0f, dy.address());
                kernels.biasActivation(s, dy.address(), db.address(), dy.address(), m, n, Activation.RELU);
                dy.copyToHostAsync(out.segment(), 0, 0, out.byteSize(), s);
            };
            body.run(); // warm-up outside capture: lets cuBLAS finish lazy initialisation
            s.synchronize();
            try (CudaGraph g = CudaGraph.capture(s, body)) {
                double worst = 0;
                for (int rep = 0; rep < 2; rep++) {
                    float[] x = randoms(m * k, 1f);
                    MemorySegment.copy(x, 0, in.segment(), ValueLayout.JAVA_FLOAT, 0, x.length);
                    g.launch(s);
                    s.synchronize();
                    float[] expected = cpuGemm(false, false, m, n, k, x, w);
                    for (int i = 0; i < expected.length; i++) {
                        expected[i] = Activation.RELU.apply(expected[i] + bias[i % n]);
                    }
                    Check c = compare(expected, out.segment().toArray(ValueLayout.JAVA_FLOAT), 1e-4f);
                    if (!c.passed()) {
                        return new Check("", false, c.maxError(), "replay " + rep + ": " + c.detail());
                    }
                    worst = Math.max(worst, c.maxError());
                }
                return new Check("", true, worst, "");
            }
        }
    }

    private Check events(CudaStream s) {
        try (Arena arena = Arena.ofConfined(); CudaEvent start = ctx.createEvent(true); CudaEvent end = ctx.createEvent(true)) {
            int n = 1 << 22;
            DeviceBuffer a = ctx.allocate(4L * n, arena);
            DeviceBuffer b = ctx.allocate(4L * n, arena);
            a.fillAsync((byte) 0, s);
            start.record(s);
            for (int i = 0; i < 10; i++) {
                kernels.copy(s, a.address(), b.address(), n);
            }
            end.record(s);
            end.synchronize();
            float ms = end.elapsedMillisSince(start);
            return new Check("", ms > 0 && ms < 10_000, 0, String.format("10 copies of 16 MiB in %.3f ms", ms));
        }
    }

    private Check nvrtc(CudaStream s) {
        try (WeirKernels compiled = WeirKernels.load(ctx, WeirKernels.Source.NVRTC); Arena arena = Arena.ofConfined()) {
            float[] x = randoms(1000, 5f);
            DeviceBuffer dx = upload(s, x, arena);
            DeviceBuffer dy = ctx.allocate(4L * x.length, arena);
            compiled.biasActivation(s, dx.address(), 0, dy.address(), 10, 100, Activation.SIGMOID);
            float[] expected = new float[x.length];
            for (int i = 0; i < x.length; i++) {
                expected[i] = Activation.SIGMOID.apply(x[i]);
            }
            int[] v = Nvrtc.version();
            Check c = compare(expected, download(s, dy, x.length, arena), TOL);
            return new Check("", c.passed(), c.maxError(), "NVRTC " + v[0] + "." + v[1] + (c.detail().isEmpty() ? "" : "; " + c.detail()));
        }
    }
}
