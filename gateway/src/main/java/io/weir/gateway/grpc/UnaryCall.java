package io.weir.gateway.grpc;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;

import java.util.function.BiFunction;

/**
 * The lifecycle of one unary call: read the one request message, run the method, answer exactly once (a response,
 * or a status from the error table; INVALID_ARGUMENT for a call with no request message or more than one), and
 * enforce the {@code grpc-timeout} deadline end to end: the method sees the remaining budget (and hands it to the
 * dispatcher or search as their deadline), and a timer answers DEADLINE_EXCEEDED if the work has not answered by
 * then, whatever it is doing.
 *
 * <p>Threading: Vert.x delivers the request, its messages, its end, the timer and (because the methods complete their
 * futures on {@link #context()}) the method's result all on the call's event-loop context, so the {@code received}
 * and {@code answered} flags need no synchronisation.
 */
final class UnaryCall<Req, Resp> {
    private final Vertx vertx;
    private final GrpcServerRequest<Req, Resp> call;
    private final GrpcMetrics metrics;
    private final Context context;
    private final long receivedAt = System.nanoTime();
    private long timeoutNanos;
    private long timer = -1;
    private boolean received;
    private boolean answered;

    private UnaryCall(Vertx vertx, GrpcServerRequest<Req, Resp> call, GrpcMetrics metrics) {
        this.vertx = vertx;
        this.call = call;
        this.metrics = metrics;
        this.context = vertx.getOrCreateContext();
    }

    /** Serves {@code call} with {@code method}; a method may throw (a WeirException, say) or return a failed future. */
    static <Req, Resp> void serve(Vertx vertx, GrpcServerRequest<Req, Resp> call, GrpcMetrics metrics,
                                  BiFunction<Req, UnaryCall<Req, Resp>, Future<Resp>> method) {
        UnaryCall<Req, Resp> c = new UnaryCall<>(vertx, call, metrics);
        c.start(method);
    }

    private void start(BiFunction<Req, UnaryCall<Req, Resp>, Future<Resp>> method) {
        call.exceptionHandler(err -> clientGone());
        call.errorHandler(err -> clientGone());
        call.invalidMessageHandler(err -> fail(WeirException.invalid("request message is not a valid " + call.fullMethodName() + " request")));
        // A client's mistake, so INVALID_ARGUMENT from the error table (grpc-java says INTERNAL, which Weir keeps for
        // its own faults and logs): without this answer a call half-closed empty stays open, with no deadline to end it.
        call.endHandler(v -> {
            if (!received) {
                fail(WeirException.invalid("missing request message: " + call.fullMethodName() + " is unary"));
            }
        });
        try {
            timeoutNanos = GrpcDeadline.parseNanos(call.headers().get(GrpcDeadline.HEADER));
        } catch (WeirException e) {
            call.handler(ignored -> { });
            fail(e);
            return;
        }
        if (timeoutNanos > 0) {
            long ms = Math.max(1, Math.ceilDiv(timeoutNanos, 1_000_000));   // no overflow at a saturated timeout
            timer = vertx.setTimer(ms, id -> {
                timer = -1;
                fail(WeirException.deadline("deadline of " + call.headers().get(GrpcDeadline.HEADER) + " passed"));
            });
        }
        call.handler(request -> {
            if (received) {
                // Each message would run the method again (another search, another inference and its routing
                // outcome); the first one's result, if still to come, is dropped.
                fail(WeirException.invalid(call.fullMethodName() + " is unary: more than one request message"));
                return;
            }
            received = true;
            if (answered) {
                return;
            }
            if (remainingNanos() <= 0) {
                fail(WeirException.deadline("deadline of " + call.headers().get(GrpcDeadline.HEADER) + " passed before the call was served"));
                return;
            }
            Future<Resp> result;
            try {
                result = method.apply(request, this);
            } catch (RuntimeException e) {
                fail(e);
                return;
            }
            result.onComplete(ar -> {
                if (ar.succeeded()) {
                    succeed(ar.result());
                } else {
                    fail(ar.cause());
                }
            });
        });
    }

    /** The context results must complete on (the call's event loop). */
    Context context() {
        return context;
    }

    MultiMap headers() {
        return call.headers();
    }

    /** Nanoseconds left before the client's deadline; {@link Long#MAX_VALUE} without one. */
    long remainingNanos() {
        return timeoutNanos == 0 ? Long.MAX_VALUE : timeoutNanos - (System.nanoTime() - receivedAt);
    }

    /** The remaining budget in whole milliseconds (rounded up) for APIs that take milliseconds; 0 without one. */
    long remainingMillisOrZero() {
        long r = remainingNanos();
        if (r == Long.MAX_VALUE) {
            return 0;
        }
        if (r <= 0) {
            throw WeirException.deadline("deadline passed");
        }
        return Math.max(1, Math.ceilDiv(r, 1_000_000));
    }

    /** Response metadata (headers) to send with the answer. */
    MultiMap responseHeaders() {
        return call.response().headers();
    }

    private void succeed(Resp response) {
        if (finish()) {
            call.response().end(response);
            metrics.record(call.fullMethodName(), GrpcStatus.OK, System.nanoTime() - receivedAt);
        }
    }

    private void fail(Throwable failure) {
        if (!finish()) {
            return;
        }
        WeirException e = GrpcErrors.classify(failure);
        GrpcStatus status = GrpcErrors.status(e.code());
        GrpcServerResponse<Req, Resp> response = call.response();
        response.status(status).statusMessage(e.getMessage());
        if (e.retryAfterSeconds() > 0 && (e.code() == ErrorCode.RESOURCE_EXHAUSTED || e.code() == ErrorCode.UNAVAILABLE)) {
            response.trailers().set(GrpcErrors.RETRY_AFTER, Long.toString(e.retryAfterSeconds()));
        }
        response.end();
        metrics.record(call.fullMethodName(), status, System.nanoTime() - receivedAt);
    }

    private void clientGone() {
        if (finish()) {
            metrics.record(call.fullMethodName(), GrpcStatus.CANCELLED, System.nanoTime() - receivedAt);
        }
    }

    /** Claims the one answer; false when the call was already answered. */
    private boolean finish() {
        if (answered) {
            return false;
        }
        answered = true;
        if (timer >= 0) {
            vertx.cancelTimer(timer);
            timer = -1;
        }
        return true;
    }
}
