package io.weir.batcher.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.BackendHealth;
import io.weir.batcher.BatchingOptions.WaitMode;
import io.weir.batcher.InferenceResult;
import io.weir.batcher.Priority;
import io.weir.batcher.testing.AffineBackend;
import io.weir.batcher.testing.FakeTicker;
import io.weir.batcher.testing.ManualExecutor;
import io.weir.batcher.testing.TestModels;
import io.weir.runtime.Backend;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;

/**
 * One lane driven by hand: no ring thread, the test plays the batching thread (arrivals, decisions, timers) and the
 * workers ({@link ManualExecutor}s), on an injected clock.
 */
final class LaneHarness implements AutoCloseable {
    final FakeTicker clock = new FakeTicker();
    final AffineBackend cpu = new AffineBackend("cpu", clock);
    final AffineBackend gpu = new AffineBackend("gpu", clock);
    final ManualExecutor cpuPool = new ManualExecutor();
    final ManualExecutor gpuPool = new ManualExecutor();
    final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    final LongAdder duplicates = new LongAdder();
    final ModelKey key = new ModelKey("affine", "1.0.0");
    final ModelRegistry registry;
    final Backends backends;
    final Lane lane;
    final long budgetNanos;

    LaneHarness(Path dir, JsonObject batching, int maxRows, double budgetMs, boolean withGpu,
                Map<String, BackendHealth> health, int cpuThreads) throws Exception {
        TestModels.write(dir, TestModels.config("affine", maxRows, budgetMs, batching), "1.0.0");
        List<Backend> list = withGpu ? List.of(gpu, cpu) : List.of(cpu);
        registry = TestModels.registry(dir, list);
        cpu.reset();
        gpu.reset();
        backends = new Backends(cpuPool, cpuThreads, name -> gpuPool, 1, health, clock, () -> 0);
        lane = new Lane(registry.peek(key).orElseThrow(), registry, clock, backends,
                new LaneMetrics(key, meters, clock, 1_000_000_000L), null, 1024, WaitMode.PARKING, duplicates);
        budgetNanos = (long) (budgetMs * 1_000_000);
    }

    /** A request arriving now, as admission would hand it to the batching thread (no decision yet). */
    CompletableFuture<InferenceResult> arrive(int id, int rows, Priority priority) {
        return arrive(id, rows, priority, clock.nanos() + budgetNanos);
    }

    CompletableFuture<InferenceResult> arrive(int id, int rows, Priority priority, long deadline) {
        return arriveAt(id, rows, priority, clock.nanos(), deadline);
    }

    /** A request enqueued at {@code enqueue} (possibly in the past: it arrived while a worker held the clock). */
    CompletableFuture<InferenceResult> arriveAt(int id, int rows, Priority priority, long enqueue, long deadline) {
        CompletableFuture<InferenceResult> f = new CompletableFuture<>();
        Pending p = new Pending(TestModels.request(key, id, rows, enqueue, deadline, priority), deadline,
                new Completion() {
                    @Override
                    public void succeed(InferenceResult result) {
                        f.complete(result);
                    }

                    @Override
                    public void fail(Throwable error) {
                        f.completeExceptionally(error);
                    }
                }, duplicates);
        lane.queuedRequests.incrementAndGet();
        lane.queuedRows.addAndGet(rows);
        lane.former.accept(p, clock.nanos());
        return f;
    }

    /** A request of {@code rows} rows split into parts of at most {@code maxRows}, as admission splits it. */
    CompletableFuture<InferenceResult> arriveSplit(int id, int rows, int maxRows, long deadline) {
        CompletableFuture<InferenceResult> f = new CompletableFuture<>();
        for (SplitJoin.Part part : SplitJoin.split(TestModels.request(key, id, rows, clock.nanos(), deadline,
                Priority.NORMAL), maxRows, f)) {
            Pending p = new Pending(part.request(), deadline, part.completion(), duplicates);
            lane.queuedRequests.incrementAndGet();
            lane.queuedRows.addAndGet(p.rows());
            lane.former.accept(p, clock.nanos());
        }
        return f;
    }

    /** The batching thread's decision at the current time (after arrivals or at its timer). */
    void decide() {
        lane.former.decide(clock.nanos());
    }

    /**
     * Moves the clock to {@code target}, firing the batching thread's timer on the way whenever it is due and
     * running the batches it forms on the CPU pool (whose compute may move the clock further).
     */
    void advanceTo(long target) {
        while (wakeAt() != FlushWaitStrategy.NEVER && wakeAt() <= target) {
            clock.advance(Math.max(0, wakeAt() - clock.nanos()));
            decide();
            cpuPool.runAll();
        }
        clock.advance(Math.max(0, target - clock.nanos()));
    }

    long wakeAt() {
        return lane.waits.wakeAt();
    }

    double count(String name, String... tags) {
        Counter c = meters.find(name).tags(tags).counter();
        return c == null ? 0 : c.count();
    }

    /** Feeds {@code n} single-row batches of {@code computeNanos} each into the CPU fit. */
    void train(int n, long fixedNanos, long perRowNanos) {
        for (int i = 0; i < n; i++) {
            int rows = 1 + i % 8;
            backends.fit(key, "cpu").observe(rows, fixedNanos + perRowNanos * rows);
        }
    }

    List<Integer> batchSizes(AffineBackend b) {
        List<Integer> out = new ArrayList<>();
        b.batches().forEach(x -> out.add(x.size()));
        return out;
    }

    @Override
    public void close() {
        lane.metrics.close();
        registry.close();
    }
}
