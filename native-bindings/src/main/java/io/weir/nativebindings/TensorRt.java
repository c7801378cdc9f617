package io.weir.nativebindings;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * FFM bindings to the {@code weir_trt} shim (src/main/trt/weir_trt.h), which wraps TensorRT 10's C++
 * API in {@code extern "C"} functions.
 *
 * <p><b>Unverified design.</b> The shim is compiled only by the {@code tensorrt} Maven profile, where
 * {@code NvInfer.h} exists; no Weir build or test machine has TensorRT, so this path has never run.
 * Everything degrades to {@link #availability()} = unavailable with the reason, never to an error at
 * class load. See docs/GPU.md for the intended use (an alternative executor for models the CUDA
 * plan compiler refuses, and FP16 engines) and what must be verified first.
 *
 * <p>The shim is located through {@code weir.trt.shim} / {@code WEIR_TRT_SHIM} (a path), else the
 * copy packaged in the jar at {@value #SHIM_RESOURCE} (extracted to a temporary file), else
 * {@code libweir_trt.so} on the loader path. It links {@code libnvinfer.so.10} and
 * {@code libnvonnxparser.so.10}, which the dynamic loader must find.
 *
 * <p>Design note (concurrency): the handles are resolved once (volatile publication). An
 * {@link Engine} is immutable and shareable; an {@link Context} has one owner thread.
 */
public final class TensorRt {

    public static final String SHIM_RESOURCE = "/io/weir/nativebindings/trt/linux-x86_64/libweir_trt.so";
    private static final int ERR_LEN = 4096;

    private record Lib(String loadedFrom, MethodHandle version, MethodHandle build, MethodHandle engineDestroy,
                       MethodHandle ioCount, MethodHandle ioName, MethodHandle ioIsInput, MethodHandle contextCreate,
                       MethodHandle contextDestroy, MethodHandle setInputBatch, MethodHandle setTensorAddress,
                       MethodHandle enqueue) {
    }

    private static final LazyLibrary<Lib> LIB = new LazyLibrary<>("TensorRT shim", TensorRt::bind);

    private TensorRt() {
    }

    private static Lib bind() {
        NativeLibraries.Located loc = locateShim();
        return new Lib(loc.loadedFrom(),
                loc.downcall("weir_trt_version", FunctionDescriptor.of(JAVA_INT)),
                loc.downcall("weir_trt_build_from_onnx", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT,
                        JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG)),
                loc.downcall("weir_trt_engine_destroy", FunctionDescriptor.ofVoid(ADDRESS)),
                loc.downcall("weir_trt_io_count", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                loc.downcall("weir_trt_io_name", FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_INT)),
                loc.downcall("weir_trt_io_is_input", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)),
                loc.downcall("weir_trt_context_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG)),
                loc.downcall("weir_trt_context_destroy", FunctionDescriptor.ofVoid(ADDRESS)),
                loc.downcall("weir_trt_set_input_batch", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG)),
                loc.downcall("weir_trt_set_tensor_address", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG)),
                loc.downcall("weir_trt_enqueue", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG)));
    }

    /** The override alone when one is set, else the packaged copy, else the loader's; the first that loads. */
    private static NativeLibraries.Located locateShim() {
        String override = System.getProperty("weir.trt.shim", System.getenv("WEIR_TRT_SHIM"));
        List<String> candidates = new ArrayList<>();
        if (override != null && !override.isBlank()) {
            candidates.add(override.strip());
        } else {
            try {
                extractPackagedShim().ifPresent(candidates::add);
            } catch (IOException e) {
                throw new GpuUnavailableException("cannot extract the packaged TensorRT shim: " + e.getMessage(), e);
            }
            candidates.add("libweir_trt.so");
        }
        List<String> failures = new ArrayList<>();
        for (String c : candidates) {
            try {
                return NativeLibraries.loadExactly("weir_trt shim", c);
            } catch (GpuUnavailableException e) {
                failures.add(e.getMessage());
            }
        }
        throw new GpuUnavailableException("TensorRT shim not available (built only where NvInfer.h exists): " + failures);
    }

    private static java.util.Optional<String> extractPackagedShim() throws IOException {
        try (InputStream in = TensorRt.class.getResourceAsStream(SHIM_RESOURCE)) {
            if (in == null) {
                return java.util.Optional.empty();
            }
            Path tmp = Files.createTempFile("libweir_trt", ".so");
            tmp.toFile().deleteOnExit();
            Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            return java.util.Optional.of(tmp.toString());
        }
    }

    /** Whether the shim (and through it TensorRT) can be loaded here. */
    public static LibraryStatus availability() {
        try {
            Lib l = LIB.handles();
            return new LibraryStatus(true, l.loadedFrom() + ", TensorRT " + (int) l.version().invokeExact());
        } catch (GpuUnavailableException e) {
            return new LibraryStatus(false, e.getMessage());
        } catch (Throwable t) {
            return new LibraryStatus(false, "TensorRT version query failed: " + t);
        }
    }

    private static String message(MemorySegment err) {
        return err.getString(0);
    }

    private static GpuUnavailableException failure(String call, int rc, MemorySegment err) {
        return new GpuUnavailableException(call + " failed (" + rc + "): " + message(err));
    }

    /**
     * Builds an engine from ONNX bytes with a dynamic batch dimension in {@code [1, maxBatch]}, tuned at
     * {@code optBatch}. Slow (seconds to minutes): do it at model load, never on the request path.
     */
    public static Engine buildFromOnnx(byte[] onnx, boolean fp16, long workspaceBytes, int optBatch, int maxBatch) {
        Lib l = LIB.handles();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment model = arena.allocate(onnx.length, 16);
            MemorySegment.copy(onnx, 0, model, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, onnx.length);
            MemorySegment out = arena.allocate(ADDRESS);
            MemorySegment err = arena.allocate(ERR_LEN);
            int rc = (int) l.build().invokeExact(model, (long) onnx.length, fp16 ? 1 : 0, workspaceBytes, 1, optBatch, maxBatch,
                    out, err, (long) ERR_LEN);
            if (rc != 0) {
                throw failure("weir_trt_build_from_onnx", rc, err);
            }
            return new Engine(l, out.get(ADDRESS, 0));
        } catch (GpuException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException("weir_trt_build_from_onnx downcall failed", t);
        }
    }

    /** A built TensorRT engine. */
    public static final class Engine implements AutoCloseable {
        private final Lib lib;
        private final MemorySegment handle;
        private final AtomicBoolean open = new AtomicBoolean(true);

        private Engine(Lib lib, MemorySegment handle) {
            this.lib = lib;
            this.handle = handle;
        }

        /** Names of the engine's inputs (first) and outputs, with their direction. */
        public List<String> tensorNames(boolean inputs) {
            try {
                int n = (int) lib.ioCount().invokeExact(handle);
                List<String> names = new ArrayList<>();
                for (int i = 0; i < n; i++) {
                    if (((int) lib.ioIsInput().invokeExact(handle, i) == 1) == inputs) {
                        MemorySegment name = (MemorySegment) lib.ioName().invokeExact(handle, i);
                        names.add(name.reinterpret(1024).getString(0));
                    }
                }
                return names;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        public Context newContext() {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ADDRESS);
                MemorySegment err = arena.allocate(ERR_LEN);
                int rc = (int) lib.contextCreate().invokeExact(handle, out, err, (long) ERR_LEN);
                if (rc != 0) {
                    throw failure("weir_trt_context_create", rc, err);
                }
                return new Context(lib, out.get(ADDRESS, 0));
            } catch (GpuException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        @Override
        public void close() {
            if (open.compareAndSet(true, false)) {
                try {
                    lib.engineDestroy().invokeExact(handle);
                } catch (Throwable t) {
                    throw new IllegalStateException(t);
                }
            }
        }
    }

    /** An execution context: per-thread state of one engine (shapes and bound buffers). */
    public static final class Context implements AutoCloseable {
        private final Lib lib;
        private final MemorySegment handle;
        private final AtomicBoolean open = new AtomicBoolean(true);

        private Context(Lib lib, MemorySegment handle) {
            this.lib = lib;
            this.handle = handle;
        }

        public void setInputBatch(String input, long batch) {
            try (Arena arena = Arena.ofConfined()) {
                int rc = (int) lib.setInputBatch().invokeExact(handle, arena.allocateFrom(input), batch);
                if (rc != 0) {
                    throw new GpuUnavailableException("weir_trt_set_input_batch(" + input + ", " + batch + ") failed (" + rc + ")");
                }
            } catch (GpuException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        public void bind(String tensor, DeviceBuffer buffer) {
            try (Arena arena = Arena.ofConfined()) {
                int rc = (int) lib.setTensorAddress().invokeExact(handle, arena.allocateFrom(tensor), buffer.address());
                if (rc != 0) {
                    throw new GpuUnavailableException("weir_trt_set_tensor_address(" + tensor + ") failed (" + rc + ")");
                }
            } catch (GpuException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        /** Enqueues inference on {@code stream}; completion as for any stream work. */
        public void enqueue(CudaStream stream) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment err = arena.allocate(ERR_LEN);
                int rc = (int) lib.enqueue().invokeExact(handle, stream.handle(), err, (long) ERR_LEN);
                if (rc != 0) {
                    throw failure("weir_trt_enqueue", rc, err);
                }
            } catch (GpuException e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            }
        }

        @Override
        public void close() {
            if (open.compareAndSet(true, false)) {
                try {
                    lib.contextDestroy().invokeExact(handle);
                } catch (Throwable t) {
                    throw new IllegalStateException(t);
                }
            }
        }
    }
}
