package io.weir.batcher;

import io.weir.runtime.ErrorCode;
import io.weir.runtime.InferenceException;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelHandle;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Tensor;
import io.weir.runtime.Ticker;
import io.weir.runtime.WeirException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The {@code none} policy: each request runs alone on a CPU pool sized to the cores. It is the baseline the batching
 * policies are measured against and the simplest correct dispatcher.
 *
 * <p>Design: a bounded {@link ThreadPoolExecutor}; a full queue refuses at once (RESOURCE_EXHAUSTED). The model lease
 * is taken on the pool thread and released when the request completes, so an unload never closes a session in use.
 */
public final class DirectDispatcher implements InferenceDispatcher {
    private final ModelRegistry registry;
    private final Ticker ticker;
    private final ThreadPoolExecutor pool;

    public DirectDispatcher(ModelRegistry registry, Ticker ticker, int threads, int queueCapacity) {
        this.registry = registry;
        this.ticker = ticker;
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS,
                new ArrayBlockingQueue<>(queueCapacity),
                r -> Thread.ofPlatform().daemon().name("weir-direct-" + System.identityHashCode(r)).unstarted(r));
    }

    @Override
    public Ticker ticker() {
        return ticker;
    }

    @Override
    public CompletableFuture<InferenceResult> submit(InferenceRequest request) {
        CompletableFuture<InferenceResult> f = new CompletableFuture<>();
        try {
            pool.execute(() -> run(request, f));
        } catch (RejectedExecutionException e) {
            f.completeExceptionally(WeirException.exhausted("queue for " + request.model() + " is full", 1));
        }
        return f;
    }

    private void run(InferenceRequest request, CompletableFuture<InferenceResult> f) {
        long start = ticker.nanos();
        if (start > request.deadlineNanos()) {
            f.completeExceptionally(WeirException.deadline("deadline passed after "
                    + (start - request.enqueueNanos()) / 1_000_000 + " ms in queue"));
            return;
        }
        ModelHandle handle = registry.acquire(request.model()).orElse(null);
        if (handle == null) {
            f.completeExceptionally(WeirException.unavailable(request.model() + " is not loaded"));
            return;
        }
        try {
            LoadedModel cpu = handle.cpu();
            int max = handle.config().maxBatchRows();
            Map<String, Tensor> out;
            if (request.rows() <= max) {
                out = cpu.run(request.inputs());
            } else if (handle.config().oversize() == io.weir.runtime.ModelConfig.Oversize.SPLIT) {
                out = runSplit(cpu, request, max);
            } else {
                throw new WeirException(ErrorCode.INVALID_ARGUMENT, request.rows() + " rows exceed the model's max batch of " + max);
            }
            long end = ticker.nanos();
            f.complete(new InferenceResult(out, cpu.backend(), start - request.enqueueNanos(), end - start, request.rows(), false));
        } catch (InferenceException e) {
            f.completeExceptionally(new WeirException(ErrorCode.INTERNAL, "inference failed", 0, e));
        } catch (RuntimeException e) {
            f.completeExceptionally(e);
        } finally {
            handle.release();
        }
    }

    /** Runs an oversized request in chunks of at most {@code max} rows and stitches the outputs back in order. */
    static Map<String, Tensor> runSplit(LoadedModel model, InferenceRequest request, int max) throws InferenceException {
        Map<String, List<Tensor>> parts = new HashMap<>();
        for (int from = 0; from < request.rows(); from += max) {
            int to = Math.min(request.rows(), from + max);
            Map<String, Tensor> chunk = new HashMap<>();
            for (Map.Entry<String, Tensor> e : request.inputs().entrySet()) {
                chunk.put(e.getKey(), e.getValue().sliceRows(from, to));
            }
            for (Map.Entry<String, Tensor> e : model.run(chunk).entrySet()) {
                parts.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue());
            }
        }
        Map<String, Tensor> out = new HashMap<>();
        parts.forEach((k, v) -> out.put(k, Tensor.concatRows(v)));
        return out;
    }

    @Override
    public void close() {
        pool.shutdown();
    }
}
