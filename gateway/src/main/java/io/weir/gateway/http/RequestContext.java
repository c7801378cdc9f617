package io.weir.gateway.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.core.json.jackson.JacksonCodec;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.RequestIds;

import java.io.IOException;

/** Per-request values kept on the {@link RoutingContext}: the request id and what the metrics need. */
final class RequestContext {
    static final String REQUEST_ID_HEADER = "x-request-id";
    static final String REQUEST_ID = "weir.requestId";
    static final String ERROR_CODE = "weir.errorCode";
    static final String MODEL = "weir.model";
    static final String VERSION = "weir.version";
    static final String ARM = "weir.arm";
    static final String START = "weir.start";
    /** Nanoseconds of the request's deadline spent before Weir saw it ({@code http.deadline.lag.reserve}); absent: 0. */
    static final String UNSEEN_NANOS = "weir.unseenNanos";

    private RequestContext() {
    }

    static long unseenNanos(RoutingContext ctx) {
        Long unseen = ctx.get(UNSEEN_NANOS);
        return unseen == null ? 0 : unseen;
    }

    /** The id from the body's {@code request_id}, else the {@code x-request-id} header, else a fresh UUID. */
    static String requestId(RoutingContext ctx, JsonObject body) {
        return requestId(ctx, body == null ? null : body.getValue("request_id"));
    }

    /**
     * As above, with the body's {@code request_id} already read ({@code fromBody}, null when absent). An id that
     * breaks {@link RequestIds#fit}'s rule, from the body or the header, counts as absent.
     */
    static String requestId(RoutingContext ctx, Object fromBody) {
        String id = fromBody instanceof String s ? RequestIds.fit(s) : null;
        if (id == null) {
            id = ctx.get(REQUEST_ID);
        }
        if (id == null) {
            id = RequestIds.fitOrNext(ctx.request().getHeader(REQUEST_ID_HEADER));
        }
        ctx.put(REQUEST_ID, id);
        return id;
    }

    /**
     * The top-level {@code request_id} string of a JSON body, found by streaming over its tokens without building
     * any object, or null (absent, not a string, unfit as an id, or not JSON). For answers that must not pay for a
     * full parse: a request shed under overload still echoes its id, at a fraction of what parsing a 50-candidate
     * body costs. It must be the id the parsed tree would give: the same parser (comments allowed), the last of
     * duplicate keys, and nothing for a body the tree refuses.
     */
    static String scanRequestId(Buffer body) {
        if (body == null || body.length() == 0) {
            return null;
        }
        try (JsonParser p = JacksonCodec.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            String id = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if ("request_id".equals(name)) {
                    id = value == JsonToken.VALUE_STRING ? RequestIds.fit(p.getText()) : null;
                }
                p.skipChildren();
            }
            return p.currentToken() == JsonToken.END_OBJECT && p.nextToken() == null ? id : null;
        } catch (IOException | RuntimeException notJson) {
            return null;
        }
    }

    /** The id already assigned to this request, assigning one from the header or a UUID if none was. */
    static String requestId(RoutingContext ctx) {
        String id = ctx.get(REQUEST_ID);
        return id != null ? id : requestId(ctx, null);
    }
}
