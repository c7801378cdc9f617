package io.weir.batcher.internal;

import io.weir.batcher.InferenceResult;

/** Where one request's (or one part's) answer goes. Called at most once per {@link Pending}. */
public interface Completion {
    void succeed(InferenceResult result);

    void fail(Throwable error);

    /**
     * True when the request this answers is already answered without it: another part of the same split request
     * failed. Such a part needs neither compute nor a count of its own in the metrics.
     */
    default boolean abandoned() {
        return false;
    }
}
