package io.weir.runtime.cuda;

import io.weir.nativebindings.GpuException;
import io.weir.runtime.InferenceException;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.cuda.ExecutionPlan.Binding;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One model version on the GPU: its plan, its weights (uploaded once) and a pool of
 * {@link CudaWorker}s, each with its own stream, cuBLAS handle and pinned staging buffers.
 *
 * <p>Design note (concurrency): {@link #run} is safe from any number of threads. A caller takes an
 * idle worker from the pool (waiting at most {@code acquireTimeoutNanos}; a timeout is reported as
 * saturation, a device-side condition the dispatcher answers by using the CPU), owns it for the
 * batch and puts it back. Workers never run two batches at once, so at most {@code workers}
 * batches of this model are in flight on the device. {@link #close()} is called by the registry
 * once no batch runs; it closes workers, then weights.
 */
final class CudaLoadedModel implements LoadedModel {

    private final ModelKey key;
    private final CudaDevice device;
    private final ExecutionPlan plan;
    private final DeviceWeights weights;
    private final List<CudaWorker> workers;
    private final BlockingQueue<CudaWorker> idle;
    private final long acquireTimeoutNanos;
    private final AtomicBoolean open = new AtomicBoolean(true);

    CudaLoadedModel(ModelKey key, CudaDevice device, ExecutionPlan plan, DeviceWeights weights, List<CudaWorker> workers,
                    long acquireTimeoutNanos) {
        this.key = key;
        this.device = device;
        this.plan = plan;
        this.weights = weights;
        this.workers = List.copyOf(workers);
        this.idle = new ArrayBlockingQueue<>(workers.size(), false, workers);
        this.acquireTimeoutNanos = acquireTimeoutNanos;
    }

    @Override
    public ModelKey key() {
        return key;
    }

    @Override
    public String backend() {
        return CudaBackend.NAME;
    }

    ExecutionPlan plan() {
        return plan;
    }

    long weightBytes() {
        return weights.bytes();
    }

    int workerCount() {
        return workers.size();
    }

    /** Idle workers right now (saturation = {@code workerCount() - idleWorkers()}). */
    int idleWorkers() {
        return idle.size();
    }

    @Override
    public Map<String, Tensor> run(Map<String, Tensor> inputs) throws InferenceException {
        if (!open.get()) {
            throw new InferenceException(key + " is unloaded from the GPU", true);
        }
        int rows = validate(inputs);
        CudaHealth health = device.health();
        if (!health.admit()) {
            throw new InferenceException("CUDA device unhealthy: " + health.snapshot().reason(), true);
        }
        CudaWorker worker;
        try {
            worker = idle.poll(acquireTimeoutNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InferenceException("interrupted while waiting for a GPU worker", true, e);
        }
        if (worker == null) {
            throw new InferenceException("GPU saturated: all " + workers.size() + " workers of " + key + " busy for "
                    + TimeUnit.NANOSECONDS.toMillis(acquireTimeoutNanos) + " ms", true);
        }
        health.started();
        long t0 = System.nanoTime();
        try {
            Map<String, Tensor> out = worker.run(inputs, rows);
            health.recordSuccess(System.nanoTime() - t0);
            return out;
        } catch (GpuException e) {
            health.recordError(e);
            try {
                worker.recover();
            } catch (GpuException again) {
                e.addSuppressed(again);
            }
            throw new InferenceException("CUDA failed on " + key + ": " + e.getMessage(), true, e);
        } finally {
            health.finished();
            idle.offer(worker);
        }
    }

    /** Checks names, types and shapes against the plan's bindings; returns the common row count. */
    private int validate(Map<String, Tensor> inputs) throws InferenceException {
        if (inputs.size() != plan.inputs().size()) {
            throw new InferenceException(key + " takes inputs " + plan.inputs().stream().map(Binding::name).toList()
                    + ", got " + inputs.keySet(), false);
        }
        int rows = -1;
        for (Binding b : plan.inputs()) {
            Tensor t = inputs.get(b.name());
            TensorSpec spec = b.spec();
            if (t == null) {
                throw new InferenceException(key + " needs input '" + b.name() + "'", false);
            }
            if (!t.conformsTo(spec)) {
                throw new InferenceException("input '" + b.name() + "' is " + t + ", declared " + spec, false);
            }
            if (rows >= 0 && t.rows() != rows) {
                throw new InferenceException("inputs disagree on the batch size (" + rows + " vs " + t.rows() + ")", false);
            }
            rows = t.rows();
        }
        if (rows <= 0) {
            throw new InferenceException("empty batch", false);
        }
        return rows;
    }

    /**
     * Benchmark hook: mean GPU milliseconds of the compute steps for {@code rows} rows, without
     * host staging or transfers (eager launches or one CUDA graph).
     */
    double computeMillis(int rows, int iterations, boolean asGraph) throws InterruptedException {
        CudaWorker w = idle.take();
        try {
            return w.computeMillis(rows, iterations, asGraph);
        } finally {
            idle.offer(w);
        }
    }

    @Override
    public void close() {
        if (!open.compareAndSet(true, false)) {
            return;
        }
        List<RuntimeException> failures = new ArrayList<>();
        for (CudaWorker w : workers) {
            try {
                w.close();
            } catch (RuntimeException e) {
                failures.add(e);
            }
        }
        try {
            weights.close();
        } catch (RuntimeException e) {
            failures.add(e);
        }
        if (!failures.isEmpty()) {
            RuntimeException first = failures.getFirst();
            failures.stream().skip(1).forEach(first::addSuppressed);
            throw first;
        }
    }
}
