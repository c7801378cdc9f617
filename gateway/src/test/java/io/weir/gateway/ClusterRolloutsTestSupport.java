package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;

import io.weir.gateway.config.PeerAddress;

import java.io.IOException;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/** For the tests of replicas sharing rollouts: their cluster addresses, waiting for them to converge (on Vert.x timers,
 * no sleeping), and stopping them. */
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

    /** {@code n} cluster addresses {@code 127.0.0.1:<port>} on ports free now. */
    static List<String> loopbackNodes(int n) throws IOException {
        List<String> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            try (ServerSocket s = new ServerSocket(0)) {
                nodes.add("127.0.0.1:" + s.getLocalPort());
            }
        }
        return nodes;
    }

    /** The port of a cluster address. */
    static int port(String node) {
        return PeerAddress.parse(node).port();
    }

    /** Closes the replicas still running (null slots skipped), then the test's own Vert.x, if any. */
    static void closeAll(WeirServer[] slots, Vertx vertx) {
        for (WeirServer s : slots) {
            if (s != null) {
                s.close();
            }
        }
        if (vertx != null) {
            vertx.close().toCompletionStage().toCompletableFuture().join();
        }
    }
}
