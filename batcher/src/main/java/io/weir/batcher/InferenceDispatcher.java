package io.weir.batcher;

import java.util.concurrent.CompletableFuture;

/**
 * Takes requests for model versions and completes each with its own result, or exceptionally with a
 * {@link io.weir.runtime.WeirException} (RESOURCE_EXHAUSTED when shed, DEADLINE_EXCEEDED when expired, NOT_FOUND /
 * UNAVAILABLE when the version is not served, INTERNAL when every backend failed). Each request completes exactly
 * once. Completion happens on a dispatcher thread: callers hop back to their own context.
 */
public interface InferenceDispatcher extends AutoCloseable {

    CompletableFuture<InferenceResult> submit(InferenceRequest request);

    /** The dispatcher's clock, on which request enqueue times and deadlines are expressed. */
    io.weir.runtime.Ticker ticker();

    @Override
    void close();
}
