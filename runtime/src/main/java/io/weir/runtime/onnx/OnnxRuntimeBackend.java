package io.weir.runtime.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import io.weir.runtime.Backend;
import io.weir.runtime.DataType;
import io.weir.runtime.InferenceException;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelLoadException;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;

import java.lang.foreign.MemorySegment;
import java.lang.reflect.Array;
import java.nio.Buffer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CPU backend: ONNX Runtime's Java API. Each loaded version is one {@link OrtSession}; sessions are safe for
 * concurrent {@code run} calls, so the caller's thread pool (sized to the cores) sets the parallelism and each
 * session uses {@code intraOpThreads} threads per call (default 1, so pool threads don't oversubscribe the cores).
 *
 * <p>ONNX Runtime 1.29 sends telemetry on Linux unless {@code ORT_DISABLE_TELEMETRY=1} is set before it loads; every
 * Weir launcher sets it, and this backend also turns telemetry off through the API as soon as the environment exists.
 *
 * <p>Numeric inputs reach ONNX Runtime through native memory that the calling thread reuses ({@link InputStaging}):
 * given a heap buffer, ORT's Java API allocates a fresh direct buffer for every tensor and copies into it, and that
 * allocation (zeroed, reserved against the direct-memory limit, freed only when a GC runs its cleaner) made a
 * 256-row moderation call (1 MiB of input) 2.6-2.9 times as slow (docs/PERF.md, "ONNX Runtime inputs through reused
 * native memory").
 */
public final class OnnxRuntimeBackend implements Backend {
    private final int intraOpThreads;
    private volatile OrtEnvironment env;

    public OnnxRuntimeBackend(int intraOpThreads) {
        if (intraOpThreads < 1) {
            throw new IllegalArgumentException("intraOpThreads must be >= 1");
        }
        this.intraOpThreads = intraOpThreads;
    }

    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public Availability availability() {
        try {
            environment();
            return Availability.yes();
        } catch (RuntimeException | LinkageError e) {
            return Availability.no("ONNX Runtime failed to load: " + e);
        }
    }

    private OrtEnvironment environment() {
        OrtEnvironment e = env;
        if (e == null) {
            synchronized (this) {
                if (env == null) {
                    OrtEnvironment created = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR, "weir");
                    try {
                        created.setTelemetry(false);
                    } catch (OrtException ignored) {
                        // Telemetry is also off through ORT_DISABLE_TELEMETRY; nothing else depends on this call.
                    }
                    env = created;
                }
                e = env;
            }
        }
        return e;
    }

    @Override
    public LoadedModel load(ModelArtifact artifact) throws ModelLoadException {
        ModelKey key = artifact.key();
        OrtEnvironment e = environment();
        OrtSession session;
        try (OrtSession.SessionOptions opts = new OrtSession.SessionOptions()) {
            opts.setIntraOpNumThreads(intraOpThreads);
            opts.setInterOpNumThreads(1);
            opts.setExecutionMode(OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            opts.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            session = e.createSession(artifact.onnx(), opts);
        } catch (OrtException ex) {
            throw new ModelLoadException(key, "ONNX Runtime cannot load model.onnx: " + ex.getMessage(), ex);
        }
        try {
            checkSchema(key, "input", artifact.config().inputs(), session.getInputInfo());
            checkSchema(key, "output", artifact.config().outputs(), session.getOutputInfo());
        } catch (OrtException ex) {
            closeQuietly(session);
            throw new ModelLoadException(key, "cannot read the model's signature: " + ex.getMessage(), ex);
        } catch (ModelLoadException ex) {
            closeQuietly(session);
            throw ex;
        }
        return new OrtLoadedModel(key, e, session, artifact.config().outputs());
    }

    private static void checkSchema(ModelKey key, String kind, List<TensorSpec> declared, Map<String, NodeInfo> actual)
            throws ModelLoadException {
        if (declared.size() != actual.size()) {
            throw new ModelLoadException(key, "config declares " + declared.size() + " " + kind + "s " + declared
                    + " but the model has " + actual.size() + " " + actual.keySet());
        }
        for (TensorSpec spec : declared) {
            NodeInfo info = actual.get(spec.name());
            if (info == null) {
                throw new ModelLoadException(key, "declared " + kind + " '" + spec.name() + "' is not in the model; it has " + actual.keySet());
            }
            if (!(info.getInfo() instanceof TensorInfo ti)) {
                throw new ModelLoadException(key, kind + " '" + spec.name() + "' is not a tensor in the model");
            }
            DataType dt = switch (ti.type) {
                case FLOAT -> DataType.FP32;
                case INT64 -> DataType.INT64;
                case STRING -> DataType.BYTES;
                default -> null;
            };
            long[] shape = ti.getShape();
            long[] want = spec.shape();
            boolean shapeOk = shape.length == want.length && shape.length > 0 && shape[0] < 0;
            for (int i = 1; shapeOk && i < shape.length; i++) {
                shapeOk = shape[i] == want[i];
            }
            if (dt != spec.dataType() || !shapeOk) {
                throw new ModelLoadException(key, kind + " '" + spec.name() + "' is declared " + spec.dataType() + Arrays.toString(want)
                        + " but the model has " + ti.type + Arrays.toString(shape) + " (the batch dimension must be dynamic)");
            }
        }
    }

    private static void closeQuietly(AutoCloseable c) {
        try {
            c.close();
        } catch (Exception ignored) {
            // Already failing the load; the original error is the one worth reporting.
        }
    }

    /** One ORT session; immutable after construction, so concurrent {@code run} calls are safe. */
    private static final class OrtLoadedModel implements LoadedModel {
        private final ModelKey key;
        private final OrtEnvironment env;
        private final OrtSession session;
        private final List<TensorSpec> outputs;

        OrtLoadedModel(ModelKey key, OrtEnvironment env, OrtSession session, List<TensorSpec> outputs) {
            this.key = key;
            this.env = env;
            this.session = session;
            this.outputs = outputs;
        }

        @Override
        public ModelKey key() {
            return key;
        }

        @Override
        public String backend() {
            return "cpu";
        }

        @Override
        public Map<String, Tensor> run(Map<String, Tensor> inputs) throws InferenceException {
            Map<String, OnnxTensor> feeds = new HashMap<>();
            InputStaging staging = InputStaging.forThisThread();
            try {
                int slot = 0;
                for (Map.Entry<String, Tensor> in : inputs.entrySet()) {
                    feeds.put(in.getKey(), toOrt(env, in.getValue(), staging, slot++));
                }
                try (OrtSession.Result result = session.run(feeds)) {
                    Map<String, Tensor> out = new LinkedHashMap<>();
                    for (TensorSpec spec : outputs) {
                        OnnxValue v = result.get(spec.name()).orElseThrow(
                                () -> new InferenceException("model produced no output '" + spec.name() + "'", false));
                        out.put(spec.name(), fromOrt((OnnxTensor) v));
                    }
                    return out;
                }
            } catch (OrtException e) {
                throw new InferenceException("ONNX Runtime failed on " + key + ": " + e.getMessage(), false, e);
            } finally {
                feeds.values().forEach(OnnxTensor::close);
            }
        }

        @Override
        public void close() {
            closeQuietly(session);
        }
    }

    /**
     * The ORT tensor for {@code t}. Numeric data is copied into the thread's staging slot {@code slot} and the tensor
     * reads it from there, so the tensor must be closed before this thread stages another input in the same slot:
     * {@code run} closes its feeds before it returns.
     */
    static OnnxTensor toOrt(OrtEnvironment env, Tensor t, InputStaging staging, int slot) throws OrtException {
        return switch (t.dataType()) {
            case FP32 -> {
                ByteBuffer staged = stage(t, staging, slot);
                yield OnnxTensor.createTensor(env, staged.asFloatBuffer(), t.shape());
            }
            case INT64 -> {
                ByteBuffer staged = stage(t, staging, slot);
                yield OnnxTensor.createTensor(env, staged.asLongBuffer(), t.shape());
            }
            case BYTES -> {
                byte[][] b = t.bytes();
                String[] s = new String[b.length];
                for (int i = 0; i < b.length; i++) {
                    s[i] = new String(b[i], StandardCharsets.UTF_8);
                }
                yield OnnxTensor.createTensor(env, s, t.shape());
            }
        };
    }

    /** Copies a numeric tensor into staging slot {@code slot}; a joined batch goes there part by part. */
    private static ByteBuffer stage(Tensor t, InputStaging staging, int slot) {
        ByteBuffer staged = staging.buffer(slot, t.byteSize());
        t.copyTo(MemorySegment.ofBuffer(staged), 0);
        return staged;
    }

    static Tensor fromOrt(OnnxTensor t) throws OrtException {
        long[] shape = t.getInfo().getShape();
        OnnxJavaType type = t.getInfo().type;
        return switch (type) {
            case FLOAT -> {
                FloatBuffer fb = t.getFloatBuffer();
                float[] data = (float[]) wholeArray(fb);
                if (data == null) {
                    data = new float[fb.remaining()];
                    fb.get(data);
                }
                yield Tensor.ofFloats(shape, data);
            }
            case INT64 -> {
                LongBuffer lb = t.getLongBuffer();
                long[] data = (long[]) wholeArray(lb);
                if (data == null) {
                    data = new long[lb.remaining()];
                    lb.get(data);
                }
                yield Tensor.ofLongs(shape, data);
            }
            case STRING -> {
                List<String> flat = new ArrayList<>();
                flatten(t.getValue(), flat);
                byte[][] data = new byte[flat.size()][];
                for (int i = 0; i < data.length; i++) {
                    data[i] = flat.get(i).getBytes(StandardCharsets.UTF_8);
                }
                yield Tensor.ofBytes(shape, data);
            }
            default -> throw new OrtException("unsupported output type " + type);
        };
    }

    /**
     * The array behind {@code b} when it holds exactly the buffer's content, else null. ORT's {@code getFloatBuffer} and
     * {@code getLongBuffer} return a fresh heap copy of a tensor's native data, so its array can be kept as is.
     */
    private static Object wholeArray(Buffer b) {
        return b.hasArray() && b.arrayOffset() == 0 && b.position() == 0 && b.remaining() == Array.getLength(b.array())
                ? b.array() : null;
    }

    private static void flatten(Object v, List<String> out) {
        if (v instanceof String s) {
            out.add(s);
        } else if (v != null && v.getClass().isArray()) {
            for (int i = 0; i < Array.getLength(v); i++) {
                flatten(Array.get(v, i), out);
            }
        }
    }

    /**
     * Native memory for input tensors, one set per thread, reused from run to run.
     *
     * <p>Design note. Owned by one thread ({@link ThreadLocal}), so nothing is shared or locked. A slot holds one input
     * of one run; it is handed out again only after that run closed its tensors (runs on a thread are sequential and
     * {@code run} closes its feeds before returning). Slots grow to the next power of two of the largest input seen,
     * so a thread keeps at most twice its largest batch per input; an input over {@link #RETAINED_MAX_BYTES} gets a
     * buffer of its own that the GC reclaims, so an odd giant request does not pin memory to a pool thread. The
     * threads that run batches are the CPU workers (one per core), plus whichever thread loads a model (its warm-up
     * runs one batch at the cap), so the total is about (cores + loading threads) x the largest batch's inputs: for
     * the demo models at their caps, 1 MiB a thread for moderation, under 0.1 MiB for the ranker and echo.
     */
    static final class InputStaging {
        static final int RETAINED_MAX_BYTES = 16 << 20;
        private static final ThreadLocal<InputStaging> LOCAL = ThreadLocal.withInitial(InputStaging::new);

        private ByteBuffer[] slots = new ByteBuffer[2];

        static InputStaging forThisThread() {
            return LOCAL.get();
        }

        /** A native-order direct buffer of exactly {@code bytes} remaining, position 0, for input {@code slot}. */
        ByteBuffer buffer(int slot, long bytes) {
            if (bytes > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("an input of " + bytes + " bytes is over what one buffer holds");
            }
            int size = (int) bytes;
            if (size > RETAINED_MAX_BYTES) {
                return ByteBuffer.allocateDirect(size).order(ByteOrder.nativeOrder());
            }
            if (slot >= slots.length) {
                slots = Arrays.copyOf(slots, Math.max(slot + 1, slots.length * 2));
            }
            ByteBuffer b = slots[slot];
            if (b == null || b.capacity() < size) {
                int capacity = Math.min(RETAINED_MAX_BYTES, Math.max(64, Integer.highestOneBit(Math.max(1, size - 1)) << 1));
                b = ByteBuffer.allocateDirect(capacity).order(ByteOrder.nativeOrder());
                slots[slot] = b;
            }
            b.clear().limit(size);
            return b;
        }

        /** Bytes this thread holds for staging (tests). */
        long retainedBytes() {
            long sum = 0;
            for (ByteBuffer b : slots) {
                sum += b == null ? 0 : b.capacity();
            }
            return sum;
        }
    }
}
