package io.weir.gateway.http;

import io.vertx.ext.web.RoutingContext;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/** The one check of an {@code Authorization: Bearer <token>} header, for the admin API and the cluster API. */
public final class BearerToken {
    private BearerToken() {
    }

    /**
     * Whether the request carries exactly this token. Compared in constant time, so that the answer's timing does not
     * tell how much of a guess was right.
     */
    public static boolean presented(RoutingContext ctx, String token) {
        String given = ctx.request().getHeader("authorization");
        byte[] expected = ("Bearer " + token).getBytes(StandardCharsets.UTF_8);
        return given != null && MessageDigest.isEqual(given.getBytes(StandardCharsets.UTF_8), expected);
    }
}
