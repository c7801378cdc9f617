package io.weir.nativebindings;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.weir.nativebindings.CudaFunction.ArgType.F32;
import static io.weir.nativebindings.CudaFunction.ArgType.I32;
import static io.weir.nativebindings.CudaFunction.ArgType.I64;
import static io.weir.nativebindings.CudaFunction.ArgType.POINTER;

/**
 * Weir's kernels (weir_kernels.cu) loaded on one device, with typed launchers.
 *
 * <p>Loading: the PTX that nvcc built into the jar ({@value #PTX_RESOURCE}) when it is there and
 * the driver accepts it; otherwise the packaged source ({@value #SOURCE_RESOURCE}) compiled by
 * {@link Nvrtc} for the device's compute capability. {@code weir.kernels.source=ptx|nvrtc|auto}
 * forces one path (auto is the default).
 *
 * <p>Design note (concurrency): immutable after load, shareable by all workers of the device.
 * Launchers take the caller's stream; their argument blocks are per thread (a thread-local set
 * of {@link KernelArgs}), so concurrent launches from different threads never share mutable
 * state. All pointers are device addresses; sizes are element counts.
 */
public final class WeirKernels implements AutoCloseable {

    public static final String PTX_RESOURCE = "/io/weir/nativebindings/kernels/weir_kernels.ptx";
    public static final String SOURCE_RESOURCE = "/io/weir/nativebindings/kernels/weir_kernels.cu";

    /** Every kernel entry point of weir_kernels.cu. */
    public static final List<String> ENTRY_POINTS = List.of("weir_bias_act", "weir_activation", "weir_sigmoid",
            "weir_add", "weir_softmax_rows", "weir_gather_rows", "weir_topk_rows", "weir_copy_f32");

    /** Largest k of {@link #topkRows} (WEIR_TOPK_MAX in the source). */
    public static final int TOPK_MAX = 32;
    private static final int TOPK_THREADS = 128;
    private static final int THREADS = 256;
    private static final System.Logger LOG = System.getLogger(WeirKernels.class.getName());

    /** Where the loaded code came from. */
    public enum Source { PACKAGED_PTX, NVRTC }

    private final CudaContext context;
    private final CudaModule module;
    private final Source source;
    private final int maxGrid;
    private final CudaFunction biasAct;
    private final CudaFunction activation;
    private final CudaFunction sigmoid;
    private final CudaFunction add;
    private final CudaFunction softmax;
    private final CudaFunction gather;
    private final CudaFunction topk;
    private final CudaFunction copy;
    private final ThreadLocal<KernelArgs[]> args;
    private final AtomicBoolean open = new AtomicBoolean(true);

    private WeirKernels(CudaContext context, CudaModule module, Source source) {
        this.context = context;
        this.module = module;
        this.source = source;
        this.maxGrid = Math.max(1, context.multiprocessorCount()) * 32;
        biasAct = module.function("weir_bias_act", POINTER, POINTER, POINTER, I32, I32, I32);
        activation = module.function("weir_activation", POINTER, POINTER, I64, I32);
        sigmoid = module.function("weir_sigmoid", POINTER, POINTER, I64);
        add = module.function("weir_add", POINTER, POINTER, POINTER, I64, I64);
        softmax = module.function("weir_softmax_rows", POINTER, POINTER, I32, I32);
        gather = module.function("weir_gather_rows", POINTER, POINTER, POINTER, I32, I32, I64, POINTER);
        topk = module.function("weir_topk_rows", POINTER, I32, I32, I32, POINTER, POINTER);
        copy = module.function("weir_copy_f32", POINTER, POINTER, I64);
        CudaFunction[] fns = {biasAct, activation, sigmoid, add, softmax, gather, topk, copy};
        // Auto arena: a thread's argument blocks are reclaimed once the thread and its ThreadLocal are gone.
        args = ThreadLocal.withInitial(() -> {
            Arena arena = Arena.ofAuto();
            KernelArgs[] a = new KernelArgs[fns.length];
            for (int i = 0; i < fns.length; i++) {
                a[i] = fns[i].newArgs(arena);
            }
            return a;
        });
    }

    /** Loads with the policy of {@code weir.kernels.source} (default {@code auto}). */
    public static WeirKernels load(CudaContext context) {
        String policy = System.getProperty("weir.kernels.source", "auto").strip().toLowerCase(java.util.Locale.ROOT);
        return switch (policy) {
            case "ptx" -> load(context, Source.PACKAGED_PTX);
            case "nvrtc" -> load(context, Source.NVRTC);
            case "auto" -> loadAuto(context);
            default -> throw new IllegalArgumentException("weir.kernels.source must be auto, ptx or nvrtc: " + policy);
        };
    }

    private static WeirKernels loadAuto(CudaContext context) {
        Optional<byte[]> ptx = resource(PTX_RESOURCE);
        if (ptx.isPresent()) {
            try {
                return new WeirKernels(context, context.loadModule(ptx.get()), Source.PACKAGED_PTX);
            } catch (CudaException e) {
                if (e.sticky()) {
                    throw e;
                }
                LOG.log(System.Logger.Level.WARNING, "packaged PTX rejected (" + e.getMessage() + "); compiling with NVRTC");
            }
        }
        return load(context, Source.NVRTC);
    }

    /** Loads from exactly one source; fails when that source is missing or rejected. */
    public static WeirKernels load(CudaContext context, Source from) {
        byte[] image = switch (from) {
            case PACKAGED_PTX -> resource(PTX_RESOURCE).orElseThrow(() ->
                    new GpuUnavailableException("no " + PTX_RESOURCE + " in the jar (built without nvcc)"));
            case NVRTC -> compileWithNvrtc(context);
        };
        CudaModule module = context.loadModule(image);
        try {
            return new WeirKernels(context, module, from);
        } catch (RuntimeException e) {
            module.close();
            throw e;
        }
    }

    private static byte[] compileWithNvrtc(CudaContext context) {
        String src = new String(resource(SOURCE_RESOURCE).orElseThrow(() ->
                new IllegalStateException(SOURCE_RESOURCE + " missing from the jar")), StandardCharsets.UTF_8);
        String arch = "--gpu-architecture=compute_" + context.computeCapabilityMajor() + context.computeCapabilityMinor();
        return Nvrtc.compileToPtx(src, "weir_kernels.cu", List.of(arch, "--std=c++17"));
    }

    /** The packaged PTX, if this jar was built with nvcc. */
    public static Optional<String> packagedPtx() {
        return resource(PTX_RESOURCE).map(b -> new String(b, StandardCharsets.UTF_8));
    }

    /** The packaged kernel source. */
    public static Optional<String> packagedSource() {
        return resource(SOURCE_RESOURCE).map(b -> new String(b, StandardCharsets.UTF_8));
    }

    private static Optional<byte[]> resource(String name) {
        try (InputStream in = WeirKernels.class.getResourceAsStream(name)) {
            return in == null ? Optional.empty() : Optional.of(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + name, e);
        }
    }

    public Source source() {
        return source;
    }

    public CudaContext context() {
        return context;
    }

    private int blocksFor(long elements, int threads) {
        return (int) Math.max(1, Math.min((elements + threads - 1) / threads, maxGrid));
    }

    private static int threadsFor(int width, int max) {
        int t = ((Math.max(1, width) + 31) / 32) * 32;
        return Math.min(t, max);
    }

    /** {@code y[r,c] = act(x[r,c] + bias[c])}; {@code bias} may be 0; in place when {@code x == y}. */
    public void biasActivation(CudaStream stream, long x, long bias, long y, int rows, int cols, Activation act) {
        if (rows <= 0 || cols <= 0) {
            throw new IllegalArgumentException("rows and cols must be positive");
        }
        int threads = threadsFor(cols, THREADS);
        int gx = (int) Math.min((cols + threads - 1L) / threads, 64);
        int gy = Math.min(rows, 65535);
        KernelArgs a = args.get()[0];
        a.pointer(0, x).pointer(1, bias).pointer(2, y).i32(3, rows).i32(4, cols).i32(5, act.code());
        biasAct.launch(stream, Dim3.of(gx, gy), Dim3.of(threads), 0, a);
    }

    /** {@code y[i] = act(x[i])} for {@code i < n}. */
    public void activation(CudaStream stream, long x, long y, long n, Activation act) {
        KernelArgs a = args.get()[1];
        a.pointer(0, x).pointer(1, y).i64(2, n).i32(3, act.code());
        activation.launch(stream, Dim3.of(blocksFor(n, THREADS)), Dim3.of(THREADS), 0, a);
    }

    /** {@code y[i] = sigmoid(x[i])} for {@code i < n}. */
    public void sigmoid(CudaStream stream, long x, long y, long n) {
        KernelArgs a = args.get()[2];
        a.pointer(0, x).pointer(1, y).i64(2, n);
        sigmoid.launch(stream, Dim3.of(blocksFor(n, THREADS)), Dim3.of(THREADS), 0, a);
    }

    /** {@code y[i] = a[i] + b[i % bn]}: same-shape add or trailing broadcast ({@code n % bn == 0}). */
    public void add(CudaStream stream, long a, long b, long y, long n, long bn) {
        if (bn <= 0 || n % bn != 0) {
            throw new IllegalArgumentException("broadcast length " + bn + " must divide " + n);
        }
        KernelArgs k = args.get()[3];
        k.pointer(0, a).pointer(1, b).pointer(2, y).i64(3, n).i64(4, bn);
        add.launch(stream, Dim3.of(blocksFor(n, THREADS)), Dim3.of(THREADS), 0, k);
    }

    /** Softmax over each row of a {@code [rows, cols]} matrix ({@code x == y} allowed). */
    public void softmaxRows(CudaStream stream, long x, long y, int rows, int cols) {
        KernelArgs a = args.get()[4];
        a.pointer(0, x).pointer(1, y).i32(2, rows).i32(3, cols);
        softmax.launch(stream, Dim3.of(Math.min(rows, 65535 * 16)), Dim3.of(threadsFor(cols, THREADS)), 0, a);
    }

    /**
     * {@code out[i,:] = table[ids[i],:]}, ids int64 (negative counts from the end); out-of-range ids
     * give zero rows and set the int at {@code errorFlag} to 1 ({@code errorFlag} may be 0).
     */
    public void gatherRows(CudaStream stream, long table, long ids, long out, int n, int dim, long vocab, long errorFlag) {
        KernelArgs a = args.get()[5];
        a.pointer(0, table).pointer(1, ids).pointer(2, out).i32(3, n).i32(4, dim).i64(5, vocab).pointer(6, errorFlag);
        gather.launch(stream, Dim3.of(Math.min(n, 65535 * 16)), Dim3.of(threadsFor(dim, THREADS)), 0, a);
    }

    /** Per-row top-k ({@code 1 <= k <= min(TOPK_MAX, cols)}): values {@code float[rows,k]}, indices {@code int[rows,k]}, best first. */
    public void topkRows(CudaStream stream, long scores, int rows, int cols, int k, long outValues, long outIndices) {
        if (k < 1 || k > TOPK_MAX || k > cols) {
            throw new IllegalArgumentException("k must be in [1, min(" + TOPK_MAX + ", cols=" + cols + ")]: " + k);
        }
        KernelArgs a = args.get()[6];
        a.pointer(0, scores).i32(1, rows).i32(2, cols).i32(3, k).pointer(4, outValues).pointer(5, outIndices);
        topk.launch(stream, Dim3.of(Math.min(rows, 65535 * 16)), Dim3.of(TOPK_THREADS), 0, a);
    }

    /** {@code out[i] = in[i]}: the trivial kernel of the round-trip baseline. */
    public void copy(CudaStream stream, long in, long out, long n) {
        KernelArgs a = args.get()[7];
        a.pointer(0, in).pointer(1, out).i64(2, n);
        copy.launch(stream, Dim3.of(blocksFor(n, THREADS)), Dim3.of(THREADS), 0, a);
    }

    @Override
    public void close() {
        if (open.compareAndSet(true, false)) {
            module.close();
        }
    }
}
