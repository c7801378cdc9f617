package io.weir.batcher;

import io.vertx.core.Context;
import io.vertx.core.Future;

import java.util.concurrent.CompletionStage;

/**
 * Brings a dispatcher's answer back to the caller's Vert.x context: the dispatcher completes on its worker threads,
 * and handlers attached to the returned future run on {@code context} (an event loop stays single-threaded).
 */
public final class VertxCompletion {
    private VertxCompletion() {
    }

    public static <T> Future<T> on(Context context, CompletionStage<T> stage) {
        return Future.fromCompletionStage(stage, context);
    }
}
