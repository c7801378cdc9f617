package io.weir.nativebindings;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A cuBLAS handle (hand-written FFM downcalls: cuBLAS headers are not part of the build machine).
 *
 * <p>The library is located at run time: {@code weir.cublas.lib} / {@code WEIR_CUBLAS_LIB}, else
 * {@code libcublas.so.13}, {@code .12}, {@code libcublas.so} via the loader, else in the toolkit
 * directories (see {@link NativeLibraries}). Device pointers are passed as 64-bit integers, which
 * the C ABI treats exactly like {@code float*}.
 *
 * <p>Design note (concurrency): a handle has ONE owner thread. cuBLAS handles are not safe for
 * concurrent use, and this object reuses one host scratch block for the {@code alpha}/{@code beta}
 * scalars (host pointer mode: cuBLAS reads them during the call, so a captured CUDA graph bakes the
 * values in). Give each worker its own handle, bound to the worker's stream.
 */
public final class Cublas implements AutoCloseable {

    /** {@code cublasOperation_t}. */
    public enum Op {
        N(0), T(1);

        final int value;

        Op(int value) {
            this.value = value;
        }
    }

    /** {@code cublasMath_t}. */
    public enum MathMode {
        /** Full fp32 (no tensor-core down-conversion); what PyTorch uses by default for fp32. */
        DEFAULT(0),
        PEDANTIC(2),
        /** Allow TF32 tensor cores for fp32 GEMMs: faster, ~1e-3 relative error. */
        TF32_TENSOR_OP(3);

        final int value;

        MathMode(int value) {
            this.value = value;
        }
    }

    /** {@code cudaDataType} values accepted by {@link #gemmEx}. */
    public static final int CUDA_R_32F = 0;
    public static final int CUDA_R_16F = 2;
    public static final int CUDA_R_16BF = 14;
    /** {@code cublasComputeType_t} values. */
    public static final int COMPUTE_32F = 68;
    public static final int COMPUTE_32F_PEDANTIC = 69;
    public static final int COMPUTE_32F_FAST_16F = 74;
    public static final int COMPUTE_32F_FAST_16BF = 75;
    public static final int COMPUTE_32F_FAST_TF32 = 77;
    /** {@code CUBLAS_GEMM_DEFAULT}. */
    public static final int GEMM_DEFAULT = -1;

    /** Downcall handles, resolved on first use. */
    private record Lib(String loadedFrom, MethodHandle create, MethodHandle destroy, MethodHandle setStream,
                       MethodHandle setMathMode, MethodHandle setWorkspace, MethodHandle getVersion,
                       MethodHandle sgemm, MethodHandle gemmEx) {
    }

    private static final LazyLibrary<Lib> LIB = LazyLibrary.located("cuBLAS", "weir.cublas.lib", "WEIR_CUBLAS_LIB",
            List.of("libcublas.so.13", "libcublas.so.12", "libcublas.so"),
            loc -> new Lib(loc.loadedFrom(),
                    loc.downcall("cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                    loc.downcall("cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                    loc.downcall("cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
                    loc.downcall("cublasSetMathMode", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)),
                    loc.downcall("cublasSetWorkspace_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG)),
                    loc.downcall("cublasGetVersion_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
                    loc.downcall("cublasSgemm_v2", FunctionDescriptor.of(JAVA_INT,
                            ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                            ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT)),
                    loc.downcall("cublasGemmEx", FunctionDescriptor.of(JAVA_INT,
                            ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                            ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_INT, JAVA_INT,
                            ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT))));

    private final CudaContext context;
    private final MemorySegment handle;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment alpha;
    private final MemorySegment beta;
    private final AtomicBoolean open = new AtomicBoolean(true);

    private Cublas(CudaContext context, MemorySegment handle) {
        this.context = context;
        this.handle = handle;
        this.alpha = arena.allocate(16, 16);
        this.beta = arena.allocate(16, 16);
    }

    /** Whether libcublas can be loaded here (does not need a GPU). */
    public static LibraryStatus availability() {
        return LIB.availability(Lib::loadedFrom);
    }

    static Cublas create(CudaContext context) {
        Lib l = LIB.handles();
        context.makeCurrent();
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(ADDRESS);
            check((int) l.create().invokeExact(out), "cublasCreate_v2");
            Cublas c = new Cublas(context, out.get(ADDRESS, 0));
            context.register(c);
            return c;
        } catch (GpuException | IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("cublasCreate_v2 downcall failed", t);
        }
    }

    private static void check(int status, String call) {
        if (status != 0) {
            throw new CublasException(call, status);
        }
    }

    /**
     * Routes all later calls of this handle to {@code stream}. cuBLAS resets the workspace to its
     * own pool here, so call {@link #setWorkspace} after this.
     */
    public void setStream(CudaStream stream) {
        ensureOpen();
        context.makeCurrent();
        try {
            check((int) LIB.handles().setStream().invokeExact(handle, stream.handle()), "cublasSetStream_v2");
        } catch (GpuException | IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    public void setMathMode(MathMode mode) {
        ensureOpen();
        try {
            check((int) LIB.handles().setMathMode().invokeExact(handle, mode.value), "cublasSetMathMode");
        } catch (GpuException | IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Gives cuBLAS a caller-owned workspace, so that it never allocates during a stream capture.
     * The buffer must outlive the handle's use of it.
     */
    public void setWorkspace(DeviceBuffer workspace) {
        ensureOpen();
        context.makeCurrent();
        try {
            check((int) LIB.handles().setWorkspace().invokeExact(handle, workspace.address(), workspace.byteSize()),
                    "cublasSetWorkspace_v2");
        } catch (GpuException | IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** {@code cublasGetVersion_v2}, e.g. 130100. */
    public int version() {
        ensureOpen();
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(JAVA_INT);
            check((int) LIB.handles().getVersion().invokeExact(handle, out), "cublasGetVersion_v2");
            return out.get(JAVA_INT, 0);
        } catch (GpuException | IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Column-major {@code C = alpha * op(A) * op(B) + beta * C} (plain {@code cublasSgemm_v2}). */
    public void sgemm(Op transA, Op transB, int m, int n, int k, float alphaValue, long a, int lda, long b, int ldb,
                      float betaValue, long c, int ldc) {
        ensureOpen();
        context.makeCurrent();
        alpha.set(ValueLayout.JAVA_FLOAT, 0, alphaValue);
        beta.set(ValueLayout.JAVA_FLOAT, 0, betaValue);
        try {
            check((int) LIB.handles().sgemm().invokeExact(handle, transA.value, transB.value, m, n, k,
                    alpha, a, lda, b, ldb, beta, c, ldc), "cublasSgemm_v2");
        } catch (GpuException | IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Column-major {@code cublasGemmEx} with fp32 scalars ({@code alpha}/{@code beta} are float
     * for every compute type except 16F and 64F, which this wrapper does not offer).
     */
    public void gemmEx(Op transA, Op transB, int m, int n, int k, float alphaValue, long a, int aType, int lda,
                       long b, int bType, int ldb, float betaValue, long c, int cType, int ldc, int computeType, int algo) {
        if (computeType != COMPUTE_32F && computeType != COMPUTE_32F_PEDANTIC && computeType != COMPUTE_32F_FAST_16F
                && computeType != COMPUTE_32F_FAST_16BF && computeType != COMPUTE_32F_FAST_TF32) {
            throw new IllegalArgumentException("only 32F compute types are supported, got " + computeType);
        }
        ensureOpen();
        context.makeCurrent();
        alpha.set(ValueLayout.JAVA_FLOAT, 0, alphaValue);
        beta.set(ValueLayout.JAVA_FLOAT, 0, betaValue);
        try {
            check((int) LIB.handles().gemmEx().invokeExact(handle, transA.value, transB.value, m, n, k,
                    alpha, a, aType, lda, b, bType, ldb, beta, c, cType, ldc, computeType, algo), "cublasGemmEx");
        } catch (GpuException | IllegalStateException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Row-major fp32 GEMM: {@code C[m,n] = alpha * opA(A)[m,k] * opB(B)[k,n] + beta * C}, where
     * {@code A} is stored {@code [m,k]} ({@code [k,m]} if {@code transA}) and {@code B} is stored
     * {@code [k,n]} ({@code [n,k]} if {@code transB}), all densely packed.
     *
     * <p>Computed as the column-major product {@code C^T = opB(B)^T * opA(A)^T}, which reads the
     * row-major buffers in place (no transposition pass).
     */
    public void sgemmRowMajor(boolean transA, boolean transB, int m, int n, int k, float alphaValue,
                              long a, long b, float betaValue, long c) {
        GemmPlan p = GemmPlan.rowMajor(transA, transB, m, n, k);
        sgemm(p.opFirst(), p.opSecond(), p.m(), p.n(), p.k(), alphaValue, b, p.ldFirst(), a, p.ldSecond(),
                betaValue, c, p.ldc());
    }

    /**
     * The column-major call that computes a row-major product (pure arithmetic, unit-tested
     * without a GPU). The first operand is B, the second A.
     */
    record GemmPlan(Op opFirst, Op opSecond, int m, int n, int k, int ldFirst, int ldSecond, int ldc) {

        static GemmPlan rowMajor(boolean transA, boolean transB, int m, int n, int k) {
            if (m <= 0 || n <= 0 || k <= 0) {
                throw new IllegalArgumentException("GEMM dimensions must be positive: m=" + m + " n=" + n + " k=" + k);
            }
            return new GemmPlan(transB ? Op.T : Op.N, transA ? Op.T : Op.N, n, m, k,
                    transB ? k : n, transA ? m : k, n);
        }
    }

    private void ensureOpen() {
        if (!open.get()) {
            throw new IllegalStateException("cuBLAS handle is closed");
        }
    }

    @Override
    public void close() {
        if (open.compareAndSet(true, false)) {
            context.unregister(this);
            try {
                context.makeCurrent();
                check((int) LIB.handles().destroy().invokeExact(handle), "cublasDestroy_v2");
            } catch (GpuException | IllegalStateException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            } finally {
                arena.close();
            }
        }
    }
}
