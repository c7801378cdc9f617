package io.weir.batcher.internal;

import io.weir.runtime.ModelHandle;

import java.util.List;

/**
 * Requests formed into one batch, with the model lease held for it (released once, when the batch is finished,
 * whichever backends it ran on). {@code preferred} is the non-CPU backend that was passed over or failed, if any.
 */
record Batch(List<Pending> requests, int rows, ModelHandle handle, String preferred, String fallbackReason) {
    long earliestDeadline() {
        long d = Long.MAX_VALUE;
        for (Pending p : requests) {
            d = Math.min(d, p.deadlineNanos);
        }
        return d;
    }
}
