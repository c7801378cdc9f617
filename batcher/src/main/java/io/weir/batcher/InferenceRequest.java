package io.weir.batcher;

import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;

import java.util.Map;

/**
 * One client request on its way to a batch. Every input has {@code rows} rows. Times are on the dispatcher's
 * {@link io.weir.runtime.Ticker}: {@code enqueueNanos} when the request entered the dispatcher (queue waits are
 * measured from here), {@code deadlineNanos} the absolute time after which its answer is worthless.
 */
public record InferenceRequest(ModelKey model, Map<String, Tensor> inputs, int rows, long enqueueNanos,
                               long deadlineNanos, Priority priority) {
    public InferenceRequest {
        inputs = Map.copyOf(inputs);
        if (rows < 1) {
            throw new IllegalArgumentException("a request has at least one row");
        }
    }
}
