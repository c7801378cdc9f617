package io.weir.perf.jmh;

import io.weir.batcher.InferenceDispatcher;
import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.runtime.ModelHandle;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Tensor;
import io.weir.runtime.Ticker;
import io.weir.runtime.WeirException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The baseline the Disruptor batcher is measured against: the textbook batcher. Producers {@code offer} into an
 * {@link ArrayBlockingQueue} (refused when full); one thread {@code take}s a request, {@code drainTo}s up to the cap
 * more, concatenates, and hands the batch to a CPU pool that runs it, slices the outputs and completes the futures.
 * Same work per batch as the real dispatcher (lease, concat, run, scatter), without policies, deadlines or metrics,
 * so any difference is the queue and the batching thread.
 */
final class AbqBatcher implements InferenceDispatcher {
    private record Item(InferenceRequest request, CompletableFuture<InferenceResult> future) {
    }

    private final ModelRegistry registry;
    private final Ticker ticker;
    private final int maxRows;
    private final ArrayBlockingQueue<Item> queue;
    private final ExecutorService pool;
    private final Thread consumer;
    private volatile boolean running = true;

    AbqBatcher(ModelRegistry registry, Ticker ticker, int cpuThreads, int capacity, int maxRows) {
        this.registry = registry;
        this.ticker = ticker;
        this.maxRows = maxRows;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.pool = Executors.newFixedThreadPool(cpuThreads, r -> {
            Thread t = new Thread(r, "abq-cpu");
            t.setDaemon(true);
            return t;
        });
        this.consumer = Thread.ofPlatform().daemon().name("abq-batcher").start(this::consume);
    }

    @Override
    public CompletableFuture<InferenceResult> submit(InferenceRequest request) {
        CompletableFuture<InferenceResult> f = new CompletableFuture<>();
        if (!queue.offer(new Item(request, f))) {
            f.completeExceptionally(WeirException.exhausted("queue full", 1));
        }
        return f;
    }

    private void consume() {
        List<Item> batch = new ArrayList<>(maxRows);
        while (running) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                return;
            }
            queue.drainTo(batch, maxRows - 1);
            List<Item> formed = List.copyOf(batch);
            batch.clear();
            pool.execute(() -> run(formed));
        }
    }

    private void run(List<Item> items) {
        ModelHandle handle = registry.acquire(items.getFirst().request().model()).orElseThrow();
        try {
            long start = ticker.nanos();
            Map<String, Tensor> inputs = new LinkedHashMap<>();
            for (String name : items.getFirst().request().inputs().keySet()) {
                List<Tensor> parts = new ArrayList<>(items.size());
                items.forEach(i -> parts.add(i.request().inputs().get(name)));
                inputs.put(name, Tensor.concatRows(parts));
            }
            Map<String, Tensor> out = handle.cpu().run(inputs);
            long end = ticker.nanos();
            int rows = 0;
            for (Item i : items) {
                rows += i.request().rows();
            }
            int offset = 0;
            for (Item i : items) {
                Map<String, Tensor> mine = new LinkedHashMap<>();
                int r = i.request().rows();
                for (Map.Entry<String, Tensor> e : out.entrySet()) {
                    mine.put(e.getKey(), e.getValue().sliceRows(offset, offset + r));
                }
                offset += r;
                i.future().complete(new InferenceResult(mine, "cpu", start - i.request().enqueueNanos(), end - start, rows, false));
            }
        } catch (Exception e) {
            items.forEach(i -> i.future().completeExceptionally(e));
        } finally {
            handle.release();
        }
    }

    @Override
    public Ticker ticker() {
        return ticker;
    }

    @Override
    public void close() {
        running = false;
        consumer.interrupt();
        pool.shutdown();
    }
}
