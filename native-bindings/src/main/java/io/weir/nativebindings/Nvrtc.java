package io.weir.nativebindings;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * NVRTC (run-time CUDA C++ compilation), hand-written FFM downcalls like {@link Cublas}.
 *
 * <p>Located at run time: {@code weir.nvrtc.lib} / {@code WEIR_NVRTC_LIB}, else
 * {@code libnvrtc.so.13}, {@code .12}, {@code libnvrtc.so} via the loader, else in the toolkit
 * directories. Used by {@link WeirKernels} when the jar carries no PTX (built without nvcc) or the
 * driver rejects the packaged PTX.
 *
 * <p>Design note (concurrency): stateless apart from the lazily resolved handles (published once
 * through a volatile); every compilation owns its {@code nvrtcProgram}, so concurrent compiles
 * are independent (NVRTC itself is thread-safe for distinct programs).
 */
public final class Nvrtc {

    private record Lib(String loadedFrom, MethodHandle version, MethodHandle create, MethodHandle compile,
                       MethodHandle ptxSize, MethodHandle ptx, MethodHandle logSize, MethodHandle log,
                       MethodHandle destroy) {
    }

    private static final LazyLibrary<Lib> LIB = LazyLibrary.located("NVRTC", "weir.nvrtc.lib", "WEIR_NVRTC_LIB",
            List.of("libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"),
            loc -> new Lib(loc.loadedFrom(),
                    loc.downcall("nvrtcVersion", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
                    loc.downcall("nvrtcCreateProgram", FunctionDescriptor.of(JAVA_INT,
                            ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS)),
                    loc.downcall("nvrtcCompileProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, ADDRESS)),
                    loc.downcall("nvrtcGetPTXSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
                    loc.downcall("nvrtcGetPTX", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
                    loc.downcall("nvrtcGetProgramLogSize", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
                    loc.downcall("nvrtcGetProgramLog", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
                    loc.downcall("nvrtcDestroyProgram", FunctionDescriptor.of(JAVA_INT, ADDRESS))));

    private Nvrtc() {
    }

    /** Whether libnvrtc can be loaded here (does not need a GPU). */
    public static LibraryStatus availability() {
        return LIB.availability(Lib::loadedFrom);
    }

    /** {major, minor} of the loaded NVRTC. */
    public static int[] version() {
        Lib l = LIB.handles();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment major = arena.allocate(JAVA_INT);
            MemorySegment minor = arena.allocate(JAVA_INT);
            check((int) l.version().invokeExact(major, minor), "nvrtcVersion", null);
            return new int[] {major.get(JAVA_INT, 0), minor.get(JAVA_INT, 0)};
        } catch (GpuException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /**
     * Compiles CUDA C++ {@code source} to PTX.
     *
     * @param programName file name used in diagnostics
     * @param options     nvrtc options, e.g. {@code --gpu-architecture=compute_90}
     * @return the PTX text, NUL-terminated (ready for {@code cuModuleLoadData})
     * @throws NvrtcException with the compiler log when compilation fails
     */
    public static byte[] compileToPtx(String source, String programName, List<String> options) {
        Lib l = LIB.handles();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment progOut = arena.allocate(ADDRESS);
            check((int) l.create().invokeExact(progOut, arena.allocateFrom(source), arena.allocateFrom(programName),
                    0, MemorySegment.NULL, MemorySegment.NULL), "nvrtcCreateProgram", null);
            MemorySegment prog = progOut.get(ADDRESS, 0);
            try {
                MemorySegment opts = arena.allocate(ADDRESS, Math.max(1, options.size()));
                for (int i = 0; i < options.size(); i++) {
                    opts.setAtIndex(ADDRESS, i, arena.allocateFrom(options.get(i)));
                }
                int rc = (int) l.compile().invokeExact(prog, options.size(), opts);
                if (rc != 0) {
                    throw new NvrtcException("nvrtcCompileProgram(" + programName + ")", rc, log(l, prog, arena));
                }
                MemorySegment size = arena.allocate(JAVA_LONG);
                check((int) l.ptxSize().invokeExact(prog, size), "nvrtcGetPTXSize", null);
                long n = size.get(JAVA_LONG, 0);
                MemorySegment ptx = arena.allocate(n, 16);
                check((int) l.ptx().invokeExact(prog, ptx), "nvrtcGetPTX", null);
                return ptx.toArray(JAVA_BYTE);
            } finally {
                int ignored = (int) l.destroy().invokeExact(progOut);
            }
        } catch (GpuException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("NVRTC downcall failed", t);
        }
    }

    private static String log(Lib l, MemorySegment prog, Arena arena) throws Throwable {
        MemorySegment size = arena.allocate(JAVA_LONG);
        if ((int) l.logSize().invokeExact(prog, size) != 0) {
            return "";
        }
        long n = size.get(JAVA_LONG, 0);
        if (n <= 1) {
            return "";
        }
        MemorySegment buf = arena.allocate(n);
        if ((int) l.log().invokeExact(prog, buf) != 0) {
            return "";
        }
        return new String(buf.toArray(JAVA_BYTE), 0, (int) n - 1, StandardCharsets.UTF_8);
    }

    private static void check(int rc, String call, String log) {
        if (rc != 0) {
            throw new NvrtcException(call, rc, log);
        }
    }
}
