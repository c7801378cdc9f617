package io.weir.router;

import io.weir.batcher.InferenceDispatcher;
import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;
import io.weir.runtime.Ticker;
import io.weir.runtime.WeirException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real dispatcher over a known model: each row's score is {@code sigmoid(sum(features) + offset(version))} in output
 * {@code score}. Per version the test can add a score offset, make it fail (INTERNAL), or hold its answers until
 * {@link #release} (a slow version). Unheld answers complete on the caller's thread.
 */
public final class ScriptedDispatcher implements InferenceDispatcher {
    private final Ticker ticker;
    private final Map<String, Float> offsets = new ConcurrentHashMap<>();
    private final Map<String, Boolean> failing = new ConcurrentHashMap<>();
    private final Map<String, Boolean> held = new ConcurrentHashMap<>();
    private final List<Runnable> pending = new ArrayList<>();
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    public ScriptedDispatcher(Ticker ticker) {
        this.ticker = ticker;
    }

    public ScriptedDispatcher offset(String version, float offset) {
        offsets.put(version, offset);
        return this;
    }

    public ScriptedDispatcher failing(String version, boolean fail) {
        failing.put(version, fail);
        return this;
    }

    public ScriptedDispatcher hold(String version) {
        held.put(version, true);
        return this;
    }

    /** Answers everything held so far and stops holding. */
    public void release(String version) {
        held.remove(version);
        List<Runnable> run;
        synchronized (pending) {
            run = new ArrayList<>(pending);
            pending.clear();
        }
        run.forEach(Runnable::run);
    }

    public int calls(String version) {
        return calls.getOrDefault(version, new AtomicInteger()).get();
    }

    /** The score the model gives a row of features under a version. */
    public float score(String version, float[] row) {
        float sum = 0;
        for (float x : row) {
            sum += x;
        }
        return (float) (1 / (1 + Math.exp(-(sum + offsets.getOrDefault(version, 0f)))));
    }

    public InferenceResult compute(ModelKey key, Map<String, Tensor> inputs, int rows) {
        float[] features = inputs.get("features").floats();
        int width = features.length / rows;
        float[] scores = new float[rows];
        for (int r = 0; r < rows; r++) {
            float[] row = new float[width];
            System.arraycopy(features, r * width, row, 0, width);
            scores[r] = score(key.version(), row);
        }
        return new InferenceResult(Map.of("score", Tensor.ofFloats(new long[] {rows, 1}, scores)), "cpu", 0, 0, rows, false);
    }

    @Override
    public CompletableFuture<InferenceResult> submit(InferenceRequest request) {
        String version = request.model().version();
        calls.computeIfAbsent(version, k -> new AtomicInteger()).incrementAndGet();
        CompletableFuture<InferenceResult> f = new CompletableFuture<>();
        Runnable answer = () -> {
            if (failing.getOrDefault(version, false)) {
                f.completeExceptionally(new WeirException(ErrorCode.INTERNAL, version + " failed"));
            } else {
                f.complete(compute(request.model(), request.inputs(), request.rows()));
            }
        };
        boolean hold;
        synchronized (pending) {
            hold = held.containsKey(version);
            if (hold) {
                pending.add(answer);
            }
        }
        if (!hold) {
            answer.run();
        }
        return f;
    }

    @Override
    public Ticker ticker() {
        return ticker;
    }

    @Override
    public void close() {
    }
}
