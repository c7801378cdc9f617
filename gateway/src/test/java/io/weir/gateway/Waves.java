package io.weir.gateway;

import io.vertx.core.Future;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Sends calls in waves of bounded concurrency: functional tests exercise concurrency without turning into load tests
 * whose queueing (on a shared 2-core machine) would trip the models' latency deadlines.
 */
final class Waves {
    private Waves() {
    }

    /** Runs {@code call(0..n-1)}, at most {@code width} at a time, and collects the results in order. */
    static <T> Future<List<T>> run(int n, int width, IntFunction<Future<T>> call) {
        List<T> results = new ArrayList<>(n);
        Future<Void> chain = Future.succeededFuture();
        for (int start = 0; start < n; start += width) {
            int from = start;
            int to = Math.min(n, start + width);
            chain = chain.compose(v -> {
                List<Future<T>> wave = new ArrayList<>();
                for (int i = from; i < to; i++) {
                    wave.add(call.apply(i));
                }
                return Future.all(wave).map(all -> {
                    for (int i = 0; i < wave.size(); i++) {
                        results.add(all.resultAt(i));
                    }
                    return null;
                });
            });
        }
        return chain.map(v -> results);
    }
}
