package io.weir.gateway.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.batcher.Priority;
import io.weir.runtime.WeirException;

/** Edge validation helpers shared by the JSON routes; each failure names the offending field. */
final class Bodies {
    static final String TIMEOUT_HEADER = "x-weir-timeout-ms";
    static final String PRIORITY_HEADER = "x-weir-priority";

    private Bodies() {
    }

    static JsonObject object(RoutingContext ctx) {
        Buffer b = ctx.body().buffer();
        if (b == null || b.length() == 0) {
            throw WeirException.invalid("request body is empty; expected a JSON object");
        }
        Object parsed;
        try {
            parsed = b.toJsonValue();
        } catch (DecodeException e) {
            throw WeirException.invalid("request body is not valid JSON: " + firstLine(e.getMessage()));
        }
        if (!(parsed instanceof JsonObject o)) {
            throw WeirException.invalid("request body must be a JSON object");
        }
        return o;
    }

    static String requiredString(JsonObject o, String key, int maxLength) {
        return requiredString(o, key, maxLength, key);
    }

    static String requiredString(JsonObject o, String key, int maxLength, String display) {
        return requiredString(o.getValue(key), maxLength, display);
    }

    /** A required string already looked up ({@code v}): the value, or INVALID_ARGUMENT naming it {@code display}. */
    static String requiredString(Object v, int maxLength, String display) {
        if (v == null) {
            throw WeirException.invalid(display + " is required");
        }
        if (!(v instanceof String s) || s.isEmpty()) {
            throw WeirException.invalid(display + " must be a non-empty string");
        }
        if (s.length() > maxLength) {
            throw WeirException.invalid(display + " is longer than " + maxLength + " characters");
        }
        return s;
    }

    static String optionalString(JsonObject o, String key, int maxLength, String display) {
        Object v = o.getValue(key);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s)) {
            throw WeirException.invalid(display + " must be a string");
        }
        if (s.length() > maxLength) {
            throw WeirException.invalid(display + " is longer than " + maxLength + " characters");
        }
        return s;
    }

    /**
     * The client's timeout from the {@code x-weir-timeout-ms} header or the body's {@code timeout_ms}; 0 when none. Up
     * to Long.MAX_VALUE (the cast saturates): convert it with {@code TimeUnit.toNanos}, which saturates too.
     */
    static long timeoutMillis(RoutingContext ctx, JsonObject body) {
        return timeoutMillis(ctx, body == null ? null : body.getValue("timeout_ms"));
    }

    /** As above, with the body's {@code timeout_ms} already read ({@code bodyValue}, null when absent). */
    static long timeoutMillis(RoutingContext ctx, Object bodyValue) {
        String h = ctx.request().getHeader(TIMEOUT_HEADER);
        Object v = h != null ? h : bodyValue;
        if (v == null) {
            return 0;
        }
        double ms;
        if (v instanceof Number n) {
            ms = n.doubleValue();
        } else {
            try {
                ms = Double.parseDouble(v.toString().trim());
            } catch (NumberFormatException e) {
                throw WeirException.invalid("timeout must be a number of milliseconds");
            }
        }
        if (!(ms > 0) || !Double.isFinite(ms)) {
            throw WeirException.invalid("timeout must be a positive number of milliseconds");
        }
        return (long) Math.ceil(ms);
    }

    static Priority priority(RoutingContext ctx) {
        try {
            return Priority.parse(ctx.request().getHeader(PRIORITY_HEADER));
        } catch (IllegalArgumentException e) {
            throw WeirException.invalid(PRIORITY_HEADER + ": " + e.getMessage());
        }
    }

    static double elapsedMillis(RoutingContext ctx) {
        return Math.round(elapsedNanos(ctx) / 1_000.0) / 1_000.0;
    }

    /**
     * An FP32 value as the shortest decimal that reads back as the same float (1.68, not 1.6799999475479126): exact
     * for FP32 clients, and what a reader of the JSON expects to see.
     */
    static double fp32(float f) {
        return Double.parseDouble(Float.toString(f));
    }

    static long elapsedNanos(RoutingContext ctx) {
        Long start = ctx.get(RequestContext.START);
        return start == null ? 0 : System.nanoTime() - start;
    }

    static void sendJson(RoutingContext ctx, int status, JsonObject body, String arm, String backend) {
        sendJson(ctx, status, body.toBuffer(), arm, backend);
    }

    static void sendJson(RoutingContext ctx, int status, Buffer body, String arm, String backend) {
        var r = ctx.response().setStatusCode(status).putHeader("content-type", "application/json");
        String id = ctx.get(RequestContext.REQUEST_ID);
        if (id != null) {
            r.putHeader(RequestContext.REQUEST_ID_HEADER, id);
        }
        if (arm != null) {
            r.putHeader("x-weir-variant", arm);
        }
        if (backend != null) {
            r.putHeader("x-weir-backend", backend);
        }
        r.end(body);
    }

    /** The first line of a parser message, at most 200 characters: enough to locate the error, never a trace. */
    static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        String line = nl < 0 ? s : s.substring(0, nl);
        return line.length() > 200 ? line.substring(0, 200) : line;
    }
}
