package io.weir.nativebindings;

import io.weir.nativebindings.cuda.gen.CudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * Entry point: "is there a usable CUDA GPU here?".
 *
 * <p>Design note (concurrency): {@link #probe()} computes its answer once (class-lock guarded,
 * published through a volatile) because {@code cuInit}'s outcome is fixed for the life of the
 * process; {@link #reprobe()} recomputes it on demand. Neither ever throws: every failure becomes a
 * {@link CudaProbe} with a reason, so callers can fall back to the CPU without a try/catch.
 */
public final class Cuda {

    private static volatile CudaProbe cached;

    private Cuda() {
    }

    /** The cached probe result (computed on first use). */
    public static CudaProbe probe() {
        CudaProbe p = cached;
        if (p == null) {
            synchronized (Cuda.class) {
                p = cached;
                if (p == null) {
                    p = runProbe();
                    cached = p;
                }
            }
        }
        return p;
    }

    /** Probes again (e.g. after a driver restart) and caches the new answer. */
    public static synchronized CudaProbe reprobe() {
        CudaProbe p = runProbe();
        cached = p;
        return p;
    }

    /** Throws {@link GpuUnavailableException} with the probe's reason unless a GPU is usable. */
    public static void requireAvailable() {
        CudaProbe p = probe();
        if (!p.available()) {
            throw new GpuUnavailableException(p.toString());
        }
    }

    static boolean disabledByConfig() {
        String prop = System.getProperty("weir.cuda.disabled");
        String env = System.getenv("WEIR_CUDA_DISABLED");
        return "true".equalsIgnoreCase(prop) || "1".equals(env) || "true".equalsIgnoreCase(env);
    }

    private static CudaProbe runProbe() {
        if (disabledByConfig()) {
            return CudaProbe.unavailable(CudaProbe.Reason.DISABLED,
                    "disabled by weir.cuda.disabled / WEIR_CUDA_DISABLED", 0);
        }
        Driver.LoadState load = Driver.loadState();
        if (!load.loaded()) {
            return CudaProbe.unavailable(load.failureReason(), load.failure(), 0);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
            int rc = CudaDriver.cuInit(0);
            int driverVersion = CudaDriver.cuDriverGetVersion(out) == 0 ? out.get(ValueLayout.JAVA_INT, 0) : 0;
            if (rc != 0) {
                String[] d = Driver.describe(rc);
                CudaProbe.Reason reason = rc == CudaError.NO_DEVICE.code()
                        ? CudaProbe.Reason.NO_DEVICES : CudaProbe.Reason.INIT_FAILED;
                return CudaProbe.unavailable(reason, "cuInit failed: " + d[0] + " (" + rc + "): " + d[1], driverVersion);
            }
            rc = CudaDriver.cuDeviceGetCount(out);
            if (rc != 0) {
                String[] d = Driver.describe(rc);
                return CudaProbe.unavailable(CudaProbe.Reason.INIT_FAILED,
                        "cuDeviceGetCount failed: " + d[0] + " (" + rc + "): " + d[1], driverVersion);
            }
            int count = out.get(ValueLayout.JAVA_INT, 0);
            if (count <= 0) {
                return CudaProbe.unavailable(CudaProbe.Reason.NO_DEVICES, "the driver reports no CUDA device", driverVersion);
            }
            List<String> names = new ArrayList<>(count);
            MemorySegment name = arena.allocate(256);
            for (int i = 0; i < count; i++) {
                rc = CudaDriver.cuDeviceGet(out, i);
                if (rc == 0 && CudaDriver.cuDeviceGetName(name, (int) name.byteSize(), out.get(ValueLayout.JAVA_INT, 0)) == 0) {
                    names.add(name.getString(0));
                } else {
                    names.add("device " + i);
                }
            }
            return new CudaProbe(true, CudaProbe.Reason.AVAILABLE, count + " device(s): " + names, driverVersion, names);
        } catch (RuntimeException | LinkageError | AssertionError e) {
            // jextract wraps unexpected Throwables from invokeExact into AssertionError.
            return CudaProbe.unavailable(CudaProbe.Reason.BINDINGS_FAILED, "probe failed: " + e, 0);
        }
    }
}
