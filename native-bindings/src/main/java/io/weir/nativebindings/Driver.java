package io.weir.nativebindings;

import io.weir.nativebindings.cuda.gen.CudaDriver;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;

/**
 * Gate in front of the jextract class {@link CudaDriver}.
 *
 * <p>Design note (concurrency): the load attempt runs once, under the class lock, and its outcome
 * is published through a volatile field; afterwards {@link #loadState()} is a plain read. The
 * generated class is only touched after {@code dlopen("libcuda.so.1")} succeeded here, because
 * its static initialiser throws {@link ExceptionInInitializerError} without the library and the
 * JVM then refuses the class for the rest of the process ({@link NoClassDefFoundError}).
 */
final class Driver {

    /** The name the generated bindings load (jextract {@code -l :libcuda.so.1}). */
    static final String LIBRARY = "libcuda.so.1";

    /** Outcome of loading libcuda and initialising the bindings. {@code failure} is null on success. */
    record LoadState(boolean loaded, CudaProbe.Reason failureReason, String failure) {
    }

    private static volatile LoadState state;

    private Driver() {
    }

    static LoadState loadState() {
        LoadState s = state;
        if (s == null) {
            synchronized (Driver.class) {
                s = state;
                if (s == null) {
                    s = tryLoad(LIBRARY);
                    state = s;
                }
            }
        }
        return s;
    }

    /** Package-private for tests: checks a library name the same way the real load does. */
    static LoadState tryLoad(String library) {
        try {
            // Same dlopen the generated class performs; failing here keeps CudaDriver untouched.
            SymbolLookup.libraryLookup(library, Arena.global());
        } catch (IllegalArgumentException | IllegalCallerException e) {
            return new LoadState(false, CudaProbe.Reason.NO_DRIVER_LIBRARY,
                    library + " could not be loaded (" + e.getMessage() + "); no NVIDIA driver on this machine"
                            + " or it is not on the loader path (ldconfig / LD_LIBRARY_PATH)");
        }
        if (!LIBRARY.equals(library)) {
            return new LoadState(true, null, null);
        }
        try {
            int version = CudaDriver.CUDA_VERSION();
            if (version <= 0) {
                return new LoadState(false, CudaProbe.Reason.BINDINGS_FAILED, "bindings report CUDA_VERSION " + version);
            }
            return new LoadState(true, null, null);
        } catch (ExceptionInInitializerError | NoClassDefFoundError e) {
            Throwable cause = e.getCause() != null ? e.getCause() : e;
            return new LoadState(false, CudaProbe.Reason.BINDINGS_FAILED,
                    "CUDA driver bindings failed to initialise: " + cause);
        }
    }

    /** Throws {@link GpuUnavailableException} unless the bindings are usable. */
    static void requireLoaded() {
        LoadState s = loadState();
        if (!s.loaded()) {
            throw new GpuUnavailableException(s.failure());
        }
    }

    /** Throws a {@link CudaException} for any result other than {@code CUDA_SUCCESS}. */
    static void check(int result, String call) {
        if (result != 0) {
            throw CudaException.of(call, result);
        }
    }

    /**
     * {name, text} for a {@code CUresult}: from the driver when it is loaded, else from the table.
     * Never throws.
     */
    static String[] describe(int code) {
        CudaError known = CudaError.fromCode(code);
        String name = known != null ? known.cName() : "CUDA_ERROR_" + code;
        String text = known != null ? known.description() : "unknown CUresult " + code;
        LoadState s = state;
        if (s != null && s.loaded()) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment p = arena.allocate(ValueLayout.ADDRESS);
                if (CudaDriver.cuGetErrorName(code, p) == 0) {
                    name = cString(p.get(ValueLayout.ADDRESS, 0), name);
                }
                if (CudaDriver.cuGetErrorString(code, p) == 0) {
                    text = cString(p.get(ValueLayout.ADDRESS, 0), text);
                }
            } catch (RuntimeException | LinkageError e) {
                // Keep the table's wording; describing an error must not raise another one.
            }
        }
        return new String[] {name, text};
    }

    private static String cString(MemorySegment ptr, String fallback) {
        if (ptr.equals(MemorySegment.NULL)) {
            return fallback;
        }
        return ptr.reinterpret(4096).getString(0);
    }
}
