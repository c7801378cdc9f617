package io.weir.gateway.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.DecodeException;
import io.vertx.ext.web.RoutingContext;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The HTTP face of Weir's one error table ({@link ErrorCode}): every failure on every route leaves through
 * {@link #send}, as {@code {"error":{"code","message"},"request_id"}} with the table's status, a Retry-After where the
 * client should come back, and never a stack trace.
 */
public final class HttpErrors {
    private static final Logger LOG = Logger.getLogger(HttpErrors.class.getName());
    /** One stack trace a message every 10 s: a failing batch gives all its requests the same cause. */
    private static final LogThrottle THROTTLED = new LogThrottle(LOG, 10_000_000_000L, io.weir.runtime.Ticker.system());

    private HttpErrors() {
    }

    /** Maps any failure to a typed one; unexpected failures are logged here and reach the client as INTERNAL. */
    public static WeirException classify(Throwable t) {
        Throwable c = t;
        while ((c instanceof CompletionException || c instanceof ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        if (c instanceof WeirException w) {
            if (w.code() == ErrorCode.INTERNAL && w.getCause() != null) {
                THROTTLED.log(Level.WARNING, "internal error: " + w.getMessage(), w.getCause());
            }
            return w;
        }
        if (c instanceof DecodeException d) {
            return WeirException.invalid("request body is not valid JSON: " + Bodies.firstLine(d.getMessage()));
        }
        THROTTLED.log(Level.SEVERE, "unexpected failure: " + c.getClass().getName(), c);
        return new WeirException(ErrorCode.INTERNAL, "internal error");
    }

    public static void send(RoutingContext ctx, Throwable failure, String requestId) {
        WeirException e = classify(failure);
        ctx.put(RequestContext.ERROR_CODE, e.code());
        HttpServerResponse r = ctx.response();
        if (r.ended() || r.closed()) {
            return;
        }
        if (r.headWritten()) {
            r.reset();
            return;
        }
        Buffer body = body(e, requestId);
        r.setStatusCode(e.code().httpStatus()).putHeader("content-type", "application/json");
        if (requestId != null) {
            r.putHeader(RequestContext.REQUEST_ID_HEADER, requestId);
        }
        if (e.retryAfterSeconds() > 0 && (e.code() == ErrorCode.RESOURCE_EXHAUSTED || e.code() == ErrorCode.UNAVAILABLE)) {
            r.putHeader("retry-after", Long.toString(e.retryAfterSeconds()));
        }
        r.end(body);
    }

    /**
     * {@code {"error":{"code","message"},"request_id"}}, written straight to bytes: the same bytes as the
     * {@code JsonObject} it was built as before, without the two maps and the tree encoder, at half the garbage, on the
     * answer that overload sends most (docs/PERF.md, "What a shed request costs").
     */
    static Buffer body(WeirException e, String requestId) {
        return ResponseJson.object(g -> {
            g.writeObjectFieldStart("error");
            g.writeStringField("code", e.code().name());
            g.writeStringField("message", e.getMessage());
            g.writeEndObject();
            g.writeStringField("request_id", requestId);
        });
    }
}
