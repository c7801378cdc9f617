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
 * cuBLASLt (hand-written FFM downcalls, like {@link Cublas}): fp32 GEMMs whose epilogue adds the bias
 * and applies ReLU inside the GEMM kernel, saving the separate epilogue pass over the output.
 *
 * <p>Located at run time: {@code weir.cublaslt.lib} / {@code WEIR_CUBLASLT_LIB}, else
 * {@code libcublasLt.so.13}, {@code .12}, {@code libcublasLt.so} via the loader or in the toolkit
 * directories. Enum values are those of cublasLt.h (stable since CUDA 11).
 *
 * <p>Usage: {@link #plan} once per GEMM shape (descriptor, layouts, heuristic algorithm choice),
 * then {@link #matmul} per call (capturable in a CUDA graph). Row-major products are computed as
 * column-major {@code D^T = op(B)^T op(A)^T}, exactly like {@link Cublas#sgemmRowMajor}; the bias
 * then runs along the column-major rows, i.e. along the row-major output's columns, as Gemm wants.
 *
 * <p>Design note (concurrency): a handle and its plans have ONE owner thread (a worker); the
 * {@code alpha}/{@code beta} scratch is reused per call. Plans hold native descriptors and must be
 * closed before the handle.
 */
public final class CublasLt implements AutoCloseable {

    /** Epilogues Weir uses ({@code cublasLtEpilogue_t}). */
    public enum Epilogue {
        NONE(1), RELU(2), BIAS(4), RELU_BIAS(6);

        final int value;

        Epilogue(int value) {
            this.value = value;
        }

        /** The epilogue for "add bias?" and "apply ReLU?". */
        public static Epilogue of(boolean bias, boolean relu) {
            return bias ? (relu ? RELU_BIAS : BIAS) : (relu ? RELU : NONE);
        }
    }

    private static final int DESC_TRANSA = 3;
    private static final int DESC_TRANSB = 4;
    private static final int DESC_EPILOGUE = 7;
    private static final int DESC_BIAS_POINTER = 8;
    private static final int PREF_MAX_WORKSPACE_BYTES = 1;
    /** sizeof(cublasLtMatmulHeuristicResult_t) is 96 (algo 64, workspaceSize 8, state 4, waves 4, reserved 16); room to spare. */
    private static final long HEURISTIC_RESULT_BYTES = 256;
    private static final long WORKSPACE_SIZE_OFFSET = 64;

    private record Lib(String loadedFrom, MethodHandle create, MethodHandle destroy, MethodHandle descCreate,
                       MethodHandle descDestroy, MethodHandle descSet, MethodHandle layoutCreate, MethodHandle layoutDestroy,
                       MethodHandle prefCreate, MethodHandle prefDestroy, MethodHandle prefSet, MethodHandle heuristic,
                       MethodHandle matmul) {
    }

    private static final LazyLibrary<Lib> LIB = LazyLibrary.located("cuBLASLt", "weir.cublaslt.lib", "WEIR_CUBLASLT_LIB",
            List.of("libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so"),
            loc -> new Lib(loc.loadedFrom(),
                    loc.downcall("cublasLtCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                    loc.downcall("cublasLtDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                    loc.downcall("cublasLtMatmulDescCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT)),
                    loc.downcall("cublasLtMatmulDescDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                    loc.downcall("cublasLtMatmulDescSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG)),
                    loc.downcall("cublasLtMatrixLayoutCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG)),
                    loc.downcall("cublasLtMatrixLayoutDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                    loc.downcall("cublasLtMatmulPreferenceCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                    loc.downcall("cublasLtMatmulPreferenceDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                    loc.downcall("cublasLtMatmulPreferenceSetAttribute", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG)),
                    loc.downcall("cublasLtMatmulAlgoGetHeuristic", FunctionDescriptor.of(JAVA_INT,
                            ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS)),
                    loc.downcall("cublasLtMatmul", FunctionDescriptor.of(JAVA_INT,
                            ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS,
                            JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, ADDRESS))));

    private final CudaContext context;
    private final MemorySegment handle;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment scalars;
    private final AtomicBoolean open = new AtomicBoolean(true);

    private CublasLt(CudaContext context, MemorySegment handle) {
        this.context = context;
        this.handle = handle;
        this.scalars = arena.allocate(16, 16);
    }

    /** Whether libcublasLt can be loaded here (does not need a GPU). */
    public static LibraryStatus availability() {
        return LIB.availability(Lib::loadedFrom);
    }

    private static void check(int status, String call) {
        if (status != 0) {
            throw new CublasException(call, status);
        }
    }

    private static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            return r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        return new IllegalStateException(t);
    }

    /** A cuBLASLt handle on {@code context}. */
    public static CublasLt create(CudaContext context) {
        Lib l = LIB.handles();
        context.makeCurrent();
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(ADDRESS);
            check((int) l.create().invokeExact(out), "cublasLtCreate");
            CublasLt lt = new CublasLt(context, out.get(ADDRESS, 0));
            context.register(lt);
            return lt;
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /**
     * Prepares the row-major fp32 product {@code D[m,n] = epilogue(alpha * opA(A)[m,k] . opB(B)[k,n] + bias[n])}
     * (layouts as in {@link Cublas#sgemmRowMajor}), choosing an algorithm for a workspace of at most
     * {@code workspaceBytes}. {@code bias} is a device address (0 unless the epilogue adds a bias).
     */
    public Plan plan(boolean transA, boolean transB, int m, int n, int k, Epilogue epilogue, long bias, long workspaceBytes) {
        if ((epilogue == Epilogue.BIAS || epilogue == Epilogue.RELU_BIAS) == (bias == 0)) {
            throw new IllegalArgumentException("bias pointer " + (bias == 0 ? "missing for " : "given without ") + epilogue);
        }
        Cublas.GemmPlan p = Cublas.GemmPlan.rowMajor(transA, transB, m, n, k);
        Lib l = LIB.handles();
        context.makeCurrent();
        Plan plan = new Plan(l);
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment out = tmp.allocate(ADDRESS);
            check((int) l.descCreate().invokeExact(out, Cublas.COMPUTE_32F, Cublas.CUDA_R_32F), "cublasLtMatmulDescCreate");
            plan.desc = out.get(ADDRESS, 0);
            MemorySegment v = tmp.allocate(8, 8);
            v.set(JAVA_INT, 0, p.opFirst().value);
            check((int) l.descSet().invokeExact(plan.desc, DESC_TRANSA, v, 4L), "cublasLtMatmulDescSetAttribute(TRANSA)");
            v.set(JAVA_INT, 0, p.opSecond().value);
            check((int) l.descSet().invokeExact(plan.desc, DESC_TRANSB, v, 4L), "cublasLtMatmulDescSetAttribute(TRANSB)");
            v.set(JAVA_INT, 0, epilogue.value);
            check((int) l.descSet().invokeExact(plan.desc, DESC_EPILOGUE, v, 4L), "cublasLtMatmulDescSetAttribute(EPILOGUE)");
            if (bias != 0) {
                v.set(JAVA_LONG, 0, bias);
                check((int) l.descSet().invokeExact(plan.desc, DESC_BIAS_POINTER, v, 8L), "cublasLtMatmulDescSetAttribute(BIAS_POINTER)");
            }
            // Layouts describe the matrices as stored (before op), column-major.
            plan.a = layout(l, tmp, p.opFirst() == Cublas.Op.N ? p.m() : p.k(), p.opFirst() == Cublas.Op.N ? p.k() : p.m(), p.ldFirst());
            plan.b = layout(l, tmp, p.opSecond() == Cublas.Op.N ? p.k() : p.n(), p.opSecond() == Cublas.Op.N ? p.n() : p.k(), p.ldSecond());
            plan.d = layout(l, tmp, p.m(), p.n(), p.ldc());
            check((int) l.prefCreate().invokeExact(out), "cublasLtMatmulPreferenceCreate");
            plan.pref = out.get(ADDRESS, 0);
            v.set(JAVA_LONG, 0, workspaceBytes);
            check((int) l.prefSet().invokeExact(plan.pref, PREF_MAX_WORKSPACE_BYTES, v, 8L), "cublasLtMatmulPreferenceSetAttribute");
            MemorySegment returned = tmp.allocate(JAVA_INT);
            check((int) l.heuristic().invokeExact(handle, plan.desc, plan.a, plan.b, plan.d, plan.d, plan.pref, 1,
                    plan.heuristic, returned), "cublasLtMatmulAlgoGetHeuristic");
            if (returned.get(JAVA_INT, 0) < 1) {
                throw new CublasException("cublasLtMatmulAlgoGetHeuristic (no algorithm for " + m + "x" + n + "x" + k + " " + epilogue + ")", 15);
            }
            plan.workspaceNeeded = plan.heuristic.get(JAVA_LONG, WORKSPACE_SIZE_OFFSET);
            plan.workspaceLimit = workspaceBytes;
            return plan;
        } catch (Throwable t) {
            plan.close();
            throw rethrow(t);
        }
    }

    private static MemorySegment layout(Lib l, Arena tmp, long rows, long cols, long ld) throws Throwable {
        MemorySegment out = tmp.allocate(ADDRESS);
        check((int) l.layoutCreate().invokeExact(out, Cublas.CUDA_R_32F, rows, cols, ld), "cublasLtMatrixLayoutCreate");
        return out.get(ADDRESS, 0);
    }

    /**
     * Enqueues the planned product on {@code stream}: {@code D = epilogue(alpha * opA(A) opB(B) + beta * D + bias)}
     * ({@code D} also serves as C). Addresses are device pointers; {@code workspace} must hold at least the
     * plan's workspace limit.
     */
    public void matmul(Plan plan, float alpha, long a, long b, float beta, long d, DeviceBuffer workspace, CudaStream stream) {
        if (!open.get() || !plan.open.get()) {
            throw new IllegalStateException("cuBLASLt handle or plan is closed");
        }
        if (workspace.byteSize() < plan.workspaceLimit) {
            throw new IllegalArgumentException("workspace of " + workspace.byteSize() + " bytes is smaller than the plan's "
                    + plan.workspaceLimit);
        }
        context.makeCurrent();
        scalars.set(ValueLayout.JAVA_FLOAT, 0, alpha);
        scalars.set(ValueLayout.JAVA_FLOAT, 8, beta);
        try {
            // Column-major D^T = B^T A^T: the first operand is the row-major B, the second the row-major A.
            check((int) plan.lib.matmul().invokeExact(handle, plan.desc, scalars, b, plan.a, a, plan.b,
                    scalars.asSlice(8), d, plan.d, d, plan.d, plan.heuristic, workspace.address(), plan.workspaceLimit,
                    stream.handle()), "cublasLtMatmul");
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** One prepared GEMM shape: descriptor, layouts, preference and the chosen algorithm. */
    public static final class Plan implements AutoCloseable {
        private final Lib lib;
        private final Arena arena = Arena.ofShared();
        private final MemorySegment heuristic;
        private final AtomicBoolean open = new AtomicBoolean(true);
        private MemorySegment desc = MemorySegment.NULL;
        private MemorySegment a = MemorySegment.NULL;
        private MemorySegment b = MemorySegment.NULL;
        private MemorySegment d = MemorySegment.NULL;
        private MemorySegment pref = MemorySegment.NULL;
        private long workspaceNeeded;
        private long workspaceLimit;

        private Plan(Lib lib) {
            this.lib = lib;
            this.heuristic = arena.allocate(HEURISTIC_RESULT_BYTES, 16);
        }

        /** Workspace bytes the chosen algorithm uses. */
        public long workspaceNeeded() {
            return workspaceNeeded;
        }

        @Override
        public void close() {
            if (!open.compareAndSet(true, false)) {
                return;
            }
            try {
                if (!pref.equals(MemorySegment.NULL)) {
                    int ignored = (int) lib.prefDestroy().invokeExact(pref);
                }
                for (MemorySegment layout : new MemorySegment[] {a, b, d}) {
                    if (!layout.equals(MemorySegment.NULL)) {
                        int ignored = (int) lib.layoutDestroy().invokeExact(layout);
                    }
                }
                if (!desc.equals(MemorySegment.NULL)) {
                    int ignored = (int) lib.descDestroy().invokeExact(desc);
                }
            } catch (Throwable t) {
                throw rethrow(t);
            } finally {
                arena.close();
            }
        }
    }

    @Override
    public void close() {
        if (open.compareAndSet(true, false)) {
            context.unregister(this);
            try {
                context.makeCurrent();
                check((int) LIB.handles().destroy().invokeExact(handle), "cublasLtDestroy");
            } catch (Throwable t) {
                throw rethrow(t);
            } finally {
                arena.close();
            }
        }
    }
}
