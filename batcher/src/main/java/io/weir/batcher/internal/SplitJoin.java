package io.weir.batcher.internal;

import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.runtime.Tensor;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A request of more rows than the model's max batch, cut into parts of at most {@code maxRows} rows that batch
 * independently; the answer is the parts' outputs stitched back in order. The first failing part fails the whole
 * request (the future ignores the rest, and the parts still waiting are {@link Completion#abandoned}: dropped without
 * compute, and not counted again as timeouts); parts answer from worker threads in any order, {@code remaining}
 * decides who stitches.
 */
public final class SplitJoin {
    private final CompletableFuture<InferenceResult> target;
    private final InferenceResult[] parts;
    private final AtomicInteger remaining;

    private SplitJoin(CompletableFuture<InferenceResult> target, int parts) {
        this.target = target;
        this.parts = new InferenceResult[parts];
        this.remaining = new AtomicInteger(parts);
    }

    /** The parts of {@code request}, each with a completion that reports here. */
    public static List<Part> split(InferenceRequest request, int maxRows, CompletableFuture<InferenceResult> target) {
        int n = (request.rows() + maxRows - 1) / maxRows;
        SplitJoin join = new SplitJoin(target, n);
        List<Part> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int from = i * maxRows;
            int to = Math.min(request.rows(), from + maxRows);
            Map<String, Tensor> inputs = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : request.inputs().entrySet()) {
                inputs.put(e.getKey(), e.getValue().sliceRows(from, to));
            }
            InferenceRequest part = new InferenceRequest(request.model(), inputs, to - from, request.enqueueNanos(),
                    request.deadlineNanos(), request.priority());
            out.add(new Part(part, join.completion(i)));
        }
        return out;
    }

    public record Part(InferenceRequest request, Completion completion) {
    }

    private Completion completion(int index) {
        return new Completion() {
            @Override
            public void succeed(InferenceResult result) {
                parts[index] = result;
                // The decrement publishes parts[index] to whichever thread sees zero.
                if (remaining.decrementAndGet() == 0) {
                    stitch();
                }
            }

            @Override
            public void fail(Throwable error) {
                target.completeExceptionally(error);
            }

            @Override
            public boolean abandoned() {
                return target.isCompletedExceptionally();
            }
        };
    }

    private void stitch() {
        if (target.isDone()) {
            return;
        }
        Map<String, List<Tensor>> outputs = new LinkedHashMap<>();
        Set<String> backends = new LinkedHashSet<>();
        long queue = 0;
        long compute = 0;
        int batchRows = 0;
        boolean fellBack = false;
        for (InferenceResult r : parts) {
            r.outputs().forEach((name, t) -> outputs.computeIfAbsent(name, k -> new ArrayList<>()).add(t));
            backends.add(r.backend());
            queue = Math.max(queue, r.queueNanos());
            compute = Math.max(compute, r.computeNanos());
            batchRows = Math.max(batchRows, r.batchRows());
            fellBack |= r.fellBack();
        }
        Map<String, Tensor> joined = new LinkedHashMap<>();
        outputs.forEach((name, list) -> joined.put(name, Tensor.concatRows(list)));
        target.complete(new InferenceResult(joined, String.join("+", backends), queue, compute, batchRows, fellBack));
    }
}
