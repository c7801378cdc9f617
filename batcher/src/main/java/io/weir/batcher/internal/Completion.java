package io.weir.batcher.internal;

import io.weir.batcher.InferenceResult;

/** Where one request's (or one part's) answer goes. Called at most once per {@link Pending}. */
public interface Completion {
    void succeed(InferenceResult result);

    void fail(Throwable error);
}
