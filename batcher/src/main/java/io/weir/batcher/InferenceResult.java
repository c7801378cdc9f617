package io.weir.batcher;

import io.weir.runtime.Tensor;

import java.util.Map;

/**
 * A request's own slice of its batch's outputs, with where and how it ran.
 *
 * @param backend      the backend that computed it ({@code cpu}, {@code cuda})
 * @param queueNanos   from enqueue to the start of the batch's compute
 * @param computeNanos the batch's compute time
 * @param batchRows    rows in the batch it ran in
 * @param fellBack     true when a preferred backend failed or was saturated and the CPU ran it instead
 */
public record InferenceResult(Map<String, Tensor> outputs, String backend, long queueNanos, long computeNanos,
                              int batchRows, boolean fellBack) {
}
