package io.weir.runtime.cuda;

import io.weir.nativebindings.CudaContext;
import io.weir.nativebindings.CudaStream;
import io.weir.nativebindings.DeviceBuffer;
import io.weir.nativebindings.GpuException;
import io.weir.nativebindings.GpuSelfTest;
import io.weir.nativebindings.PinnedHostBuffer;
import io.weir.nativebindings.WeirKernels;
import io.weir.runtime.Ticker;

import java.lang.foreign.ValueLayout;
import java.util.List;

/**
 * The device side shared by every model the CUDA backend loads: the context, the loaded kernels
 * and the device's {@link CudaHealth}, whose recovery probe is {@link #probe()}.
 *
 * <p>Design note (concurrency): immutable references after {@link #open}; context and kernels are
 * thread-safe. The probe owns a private stream and buffers and is serialised by {@code probeLock}
 * (it runs rarely: on recovery attempts).
 */
final class CudaDevice implements AutoCloseable {

    private static final int PROBE_ELEMENTS = 1024;

    private final CudaContext context;
    private final WeirKernels kernels;
    private final CudaHealth health;
    private final Object probeLock = new Object();

    private CudaDevice(CudaContext context, WeirKernels kernels, Ticker ticker) {
        this.context = context;
        this.kernels = kernels;
        this.health = new CudaHealth(ticker, this::probe);
    }

    /** Opens the device and loads the kernels; the caller owns the result. */
    static CudaDevice open(int ordinal, Ticker ticker) {
        CudaContext ctx = CudaContext.open(ordinal);
        try {
            return new CudaDevice(ctx, WeirKernels.load(ctx), ticker);
        } catch (RuntimeException e) {
            ctx.close();
            throw e;
        }
    }

    CudaContext context() {
        return context;
    }

    WeirKernels kernels() {
        return kernels;
    }

    CudaHealth health() {
        return health;
    }

    /** Full kernel/cuBLAS/graph self-test (no NVRTC; cuBLASLt when asked); list of checks, all passed or not. */
    List<GpuSelfTest.Check> selfTest(boolean cublasLt) {
        return GpuSelfTest.run(context, kernels, true, false, cublasLt);
    }

    /**
     * Recovery probe: pinned upload, copy kernel, download, compare, then a context-wide
     * synchronize (which surfaces a sticky error left by any stream). True when all of it worked.
     */
    boolean probe() {
        synchronized (probeLock) {
            try (CudaStream s = context.createStream();
                 PinnedHostBuffer host = context.allocatePinned(4L * PROBE_ELEMENTS * 2);
                 DeviceBuffer a = context.allocate(4L * PROBE_ELEMENTS);
                 DeviceBuffer b = context.allocate(4L * PROBE_ELEMENTS)) {
                for (int i = 0; i < PROBE_ELEMENTS; i++) {
                    host.segment().setAtIndex(ValueLayout.JAVA_FLOAT, i, i * 0.5f - 7f);
                }
                a.copyFromHostAsync(host.segment(), 0, 0, 4L * PROBE_ELEMENTS, s);
                kernels.copy(s, a.address(), b.address(), PROBE_ELEMENTS);
                b.copyToHostAsync(host.segment(), 4L * PROBE_ELEMENTS, 0, 4L * PROBE_ELEMENTS, s);
                s.synchronize();
                for (int i = 0; i < PROBE_ELEMENTS; i++) {
                    if (host.segment().getAtIndex(ValueLayout.JAVA_FLOAT, PROBE_ELEMENTS + i) != i * 0.5f - 7f) {
                        return false;
                    }
                }
                context.synchronize();
                return true;
            } catch (GpuException | IllegalStateException e) {
                return false;
            }
        }
    }

    @Override
    public void close() {
        try {
            kernels.close();
        } finally {
            context.close();
        }
    }
}
