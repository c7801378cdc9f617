package io.weir.runtime.cuda;

import io.weir.nativebindings.Cublas;
import io.weir.nativebindings.CublasLt;
import io.weir.nativebindings.Cuda;
import io.weir.nativebindings.CudaProbe;
import io.weir.nativebindings.GpuException;
import io.weir.nativebindings.GpuSelfTest;
import io.weir.nativebindings.LibraryStatus;
import io.weir.runtime.Backend;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelLoadException;
import io.weir.runtime.Ticker;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * The GPU backend: runs MLP-style ONNX graphs (see {@link OnnxPlanCompiler} for the operator set)
 * with cuBLAS SGEMM and Weir's fused kernels, through pinned staging buffers, one stream per
 * worker, and CUDA graphs for repeated batch sizes. A model it cannot run is refused at load with
 * a {@link ModelLoadException} saying why, so the registry serves it on the CPU.
 *
 * <p>Availability: no GPU (no driver, no device, {@code weir.cuda.disabled}), no cuBLAS, or a failed
 * self-test of the kernels on this device each make {@link #availability()} answer "no" with the
 * reason; nothing throws. Health and saturation of the device: {@link #health()}.
 *
 * <p>Configuration (system properties): {@code weir.cuda.device} (ordinal, default 0),
 * {@code weir.cuda.workers} (per model, default 2), {@code weir.cuda.graphs} (default true),
 * {@code weir.cuda.tf32} (TF32 tensor-core GEMMs, default false: full fp32 like the CPU),
 * {@code weir.cuda.acquireTimeoutMs} (default 50), {@code weir.cuda.selfTest} (default true),
 * {@code weir.cuda.gemm} ({@code sgemm}, the default, or {@code lt}: cuBLASLt with bias/ReLU fused into the GEMM).
 *
 * <p>Design note (concurrency): the device is opened lazily, once, under this object's lock, and
 * published through a volatile; the outcome (device or reason) never changes afterwards. Loaded
 * models are independent and thread-safe ({@link CudaLoadedModel}); {@link #close()} must come
 * after every model loaded here was closed.
 */
public final class CudaBackend implements Backend {

    public static final String NAME = "cuda";
    private static final Logger LOG = Logger.getLogger(CudaBackend.class.getName());

    /** How fully connected layers run: cuBLAS SGEMM + Weir's epilogue kernel, or cuBLASLt with the epilogue fused. */
    public enum GemmEngine { SGEMM, LT }

    /** Tunables; {@link #fromSystemProperties()} reads the documented properties. */
    public record Config(int deviceOrdinal, int workersPerModel, boolean graphs, boolean tf32, Duration acquireTimeout,
                         boolean selfTest, GemmEngine gemm) {
        public Config {
            if (workersPerModel < 1) {
                throw new IllegalArgumentException("workersPerModel must be >= 1");
            }
            if (gemm == null) {
                throw new IllegalArgumentException("gemm engine required");
            }
        }

        /** With the default GEMM engine (SGEMM). */
        public Config(int deviceOrdinal, int workersPerModel, boolean graphs, boolean tf32, Duration acquireTimeout,
                      boolean selfTest) {
            this(deviceOrdinal, workersPerModel, graphs, tf32, acquireTimeout, selfTest, GemmEngine.SGEMM);
        }

        public static Config fromSystemProperties() {
            return new Config(
                    Integer.getInteger("weir.cuda.device", 0),
                    Integer.getInteger("weir.cuda.workers", 2),
                    Boolean.parseBoolean(System.getProperty("weir.cuda.graphs", "true")),
                    Boolean.getBoolean("weir.cuda.tf32"),
                    Duration.ofMillis(Long.getLong("weir.cuda.acquireTimeoutMs", 50)),
                    Boolean.parseBoolean(System.getProperty("weir.cuda.selfTest", "true")),
                    GemmEngine.valueOf(System.getProperty("weir.cuda.gemm", "sgemm").strip().toUpperCase(java.util.Locale.ROOT)));
        }
    }

    private final Config config;
    private final Ticker ticker;
    private volatile CudaDevice device;
    private volatile Availability availability;

    public CudaBackend() {
        this(Config.fromSystemProperties(), Ticker.system());
    }

    public CudaBackend(Config config, Ticker ticker) {
        this.config = config;
        this.ticker = ticker;
    }

    @Override
    public String name() {
        return NAME;
    }

    /** Shorthand for {@code availability().available()}. */
    public boolean isAvailable() {
        return availability().available();
    }

    @Override
    public Availability availability() {
        Availability a = availability;
        if (a == null) {
            synchronized (this) {
                a = availability;
                if (a == null) {
                    a = initialise();
                    availability = a;
                }
            }
        }
        return a;
    }

    private Availability initialise() {
        CudaProbe probe = Cuda.probe();
        if (!probe.available()) {
            return Availability.no(probe.toString());
        }
        LibraryStatus cublas = Cublas.availability();
        if (!cublas.available()) {
            return Availability.no("cuBLAS unavailable: " + cublas.detail());
        }
        if (config.gemm() == GemmEngine.LT && !CublasLt.availability().available()) {
            return Availability.no("cuBLASLt unavailable (weir.cuda.gemm=lt): " + CublasLt.availability().detail());
        }
        CudaDevice d;
        try {
            d = CudaDevice.open(config.deviceOrdinal(), ticker);
        } catch (GpuException | IllegalArgumentException | LinkageError e) {
            // LinkageError: an older driver lacking a symbol the bindings name: unavailable, not an Error out of
            // availability() (which every later call would retry, leaking a context each time)
            return Availability.no("cannot open CUDA device " + config.deviceOrdinal() + ": " + e.getMessage());
        }
        if (config.selfTest()) {
            List<GpuSelfTest.Check> checks;
            try {
                checks = d.selfTest(config.gemm() == GemmEngine.LT);
            } catch (GpuException | IllegalStateException | LinkageError e) {
                d.close();
                return Availability.no("GPU self-test failed: " + e);
            }
            List<String> failed = checks.stream().filter(c -> !c.passed()).map(GpuSelfTest.Check::toString).toList();
            if (!failed.isEmpty()) {
                d.close();
                return Availability.no("GPU self-test failed: " + failed);
            }
        }
        device = d;
        LOG.info(() -> "CUDA backend on " + d.context() + " (kernels: " + d.kernels().source() + ", cuBLAS: "
                + cublas.detail() + ")");
        return Availability.yes();
    }

    @Override
    public LoadedModel load(ModelArtifact artifact) throws ModelLoadException {
        ModelKey key = artifact.key();
        Availability a = availability();
        if (!a.available()) {
            throw new ModelLoadException(key, "CUDA backend unavailable: " + a.reason());
        }
        ExecutionPlan plan = OnnxPlanCompiler.compile(key, artifact.config(), artifact.onnx());
        CudaDevice d = device;
        DeviceWeights weights = null;
        List<CudaWorker> workers = new ArrayList<>();
        try {
            d.context().makeCurrent();
            weights = new DeviceWeights(d.context(), plan.weights());
            Cublas.MathMode math = config.tf32() ? Cublas.MathMode.TF32_TENSOR_OP : Cublas.MathMode.DEFAULT;
            for (int i = 0; i < config.workersPerModel(); i++) {
                workers.add(new CudaWorker(d.context(), d.kernels(), plan, weights, artifact.config().maxBatchRows(),
                        config.graphs(), math, config.gemm() == GemmEngine.LT));
            }
        } catch (GpuException e) {
            workers.forEach(CudaWorker::close);
            if (weights != null) {
                weights.close();
            }
            if (e.sticky()) {
                d.health().recordError(e);
            }
            throw new ModelLoadException(key, "cannot place the model on the GPU: " + e.getMessage(), e);
        }
        LOG.fine(() -> key + " on CUDA: " + plan.describe());
        return new CudaLoadedModel(key, d, plan, weights, workers, config.acquireTimeout().toNanos());
    }

    /**
     * Similarity search for the embedding store: on this GPU when the backend is available (the index
     * uploaded once per version, GEMM + {@code weir_topk_rows} per batch), else exact on the CPU with
     * {@code cpuParallelism} threads.
     */
    public io.weir.runtime.embedding.VectorSearch.Factory vectorSearchFactory(int cpuParallelism) {
        return CudaVectorSearch.factory(this, cpuParallelism);
    }

    /** Health and saturation of the device; empty while the backend is unavailable. */
    public Optional<CudaHealth.Snapshot> health() {
        CudaDevice d = device;
        return d == null ? Optional.empty() : Optional.of(d.health().snapshot());
    }

    /** Runs the device recovery probe now; false when unavailable or the device failed it. */
    public boolean probeNow() {
        CudaDevice d = device;
        return d != null && d.health().probeNow();
    }

    /** The device's name and facts, for logs and the admin API; empty while unavailable. */
    public Optional<String> deviceDescription() {
        CudaDevice d = device;
        return d == null ? Optional.empty() : Optional.of(d.context() + ", kernels from " + d.kernels().source());
    }

    CudaDevice device() {
        return device;
    }

    @Override
    public synchronized void close() {
        CudaDevice d = device;
        device = null;
        if (d != null) {
            d.close();
        }
    }
}
