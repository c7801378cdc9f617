package io.weir.nativebindings;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Finds the CUDA toolkit libraries that have no jextract bindings (cuBLAS, NVRTC) at run time.
 *
 * <p>Search order: the explicit override (system property, then environment variable: a path or a
 * soname), else each soname through the dynamic loader's standard search (ld.so.cache,
 * {@code LD_LIBRARY_PATH}), else each soname in the usual toolkit directories. Libraries are
 * loaded into the global arena: never unloaded, since handles into them live as long as the JVM.
 * Stateless; safe from any thread.
 */
final class NativeLibraries {

    /** A loaded library and where it came from. */
    record Located(SymbolLookup lookup, String loadedFrom) {

        MethodHandle downcall(String symbol, FunctionDescriptor descriptor) {
            return Linker.nativeLinker().downcallHandle(lookup.findOrThrow(symbol), descriptor);
        }
    }

    private NativeLibraries() {
    }

    /** Toolkit directories searched after the loader's own paths. */
    static List<Path> toolkitDirectories() {
        Set<Path> dirs = new LinkedHashSet<>();
        String cudaHome = System.getenv("CUDA_HOME");
        if (cudaHome != null && !cudaHome.isBlank()) {
            dirs.add(Path.of(cudaHome, "lib64"));
            dirs.add(Path.of(cudaHome, "targets", "x86_64-linux", "lib"));
        }
        dirs.add(Path.of("/usr/local/cuda/lib64"));
        dirs.add(Path.of("/usr/local/cuda-13.0/targets/x86_64-linux/lib"));
        dirs.add(Path.of("/usr/local/cuda/targets/x86_64-linux/lib"));
        return List.copyOf(dirs);
    }

    /**
     * Loads the first library that works.
     *
     * @throws GpuUnavailableException listing everything tried when none loads
     */
    static Located locate(String what, String systemProperty, String envVariable, List<String> sonames) {
        List<String> tried = new ArrayList<>();
        String override = System.getProperty(systemProperty);
        if (override == null || override.isBlank()) {
            override = System.getenv(envVariable);
        }
        if (override != null && !override.isBlank()) {
            String o = override.strip();
            Located l = tryLoad(o, tried);
            if (l != null) {
                return l;
            }
            throw new GpuUnavailableException(what + " not loadable from " + systemProperty + "/" + envVariable
                    + " = " + o + ": " + tried);
        }
        for (String soname : sonames) {
            Located l = tryLoad(soname, tried);
            if (l != null) {
                return l;
            }
        }
        for (Path dir : toolkitDirectories()) {
            for (String soname : sonames) {
                Path p = dir.resolve(soname);
                if (Files.exists(p)) {
                    Located l = tryLoad(p.toString(), tried);
                    if (l != null) {
                        return l;
                    }
                } else {
                    tried.add(p + ": absent");
                }
            }
        }
        throw new GpuUnavailableException(what + " not found (set " + systemProperty + " or " + envVariable + "); tried " + tried);
    }

    /** Loads exactly {@code nameOrPath} (a soname for the loader, or a path). */
    static Located loadExactly(String what, String nameOrPath) {
        List<String> tried = new ArrayList<>();
        Located l = tryLoad(nameOrPath, tried);
        if (l == null) {
            throw new GpuUnavailableException(what + " not loadable: " + tried);
        }
        return l;
    }

    private static Located tryLoad(String nameOrPath, List<String> tried) {
        try {
            SymbolLookup lookup = nameOrPath.contains("/")
                    ? SymbolLookup.libraryLookup(Path.of(nameOrPath), Arena.global())
                    : SymbolLookup.libraryLookup(nameOrPath, Arena.global());
            return new Located(lookup, nameOrPath);
        } catch (IllegalArgumentException | IllegalCallerException e) {
            tried.add(nameOrPath + ": " + e.getMessage());
            return null;
        }
    }
}
