package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import java.util.function.Supplier;

/** Waiting for replicas to converge, on Vert.x timers (no sleeping). */
final class ClusterRolloutsTestSupport {
    private ClusterRolloutsTestSupport() {
    }

    /** Polls {@code check} every 50 ms (on a timer, no sleeping) until it holds or {@code millis} pass. */
    static Future<Void> eventually(Vertx vertx, long millis, Supplier<Future<Boolean>> check) {
        long end = System.nanoTime() + millis * 1_000_000;
        Promise<Void> done = Promise.promise();
        poll(vertx, end, check, done);
        return done.future();
    }

    private static void poll(Vertx vertx, long end, Supplier<Future<Boolean>> check, Promise<Void> done) {
        check.get().onComplete(ar -> {
            if (ar.succeeded() && ar.result()) {
                done.complete();
            } else if (System.nanoTime() > end) {
                done.fail(new AssertionError("not within the time allowed"
                        + (ar.failed() ? ": " + ar.cause() : "")));
            } else {
                vertx.setTimer(50, id -> poll(vertx, end, check, done));
            }
        });
    }

}
