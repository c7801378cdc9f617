package io.weir.gateway;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ids for requests that bring none (no {@code request_id}, no {@code x-request-id}): random version-4 UUIDs drawn from
 * the calling thread's {@link ThreadLocalRandom}. {@link UUID#randomUUID()} draws from one shared {@code SecureRandom}:
 * about 1 µs an id with two threads contending for it, against about 0.04 µs here ({@code perf/micro/RequestIdCost.java},
 * docs/PERF.md), and at moderation's 2x on two CPUs a request's whole gateway CPU is about 40 µs. A request id has to
 * be unique enough to find a request in logs, answers and shadow diffs, not unguessable: a client that wants a
 * particular id sends it.
 */
public final class RequestIds {
    private RequestIds() {
    }

    public static String next() {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long high = (random.nextLong() & ~0xF000L) | 0x4000L;                         // version 4
        long low = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;   // IETF variant
        return new UUID(high, low).toString();
    }

    /** The id a caller sent (an {@code x-request-id} header) when it is {@link #fit} to echo, else a new one. */
    public static String fitOrNext(String sent) {
        String id = fit(sent);
        return id != null ? id : next();
    }

    /**
     * {@code id} if it may be echoed as the {@code x-request-id} header, else null: not blank, at most 128
     * characters, printable ASCII only. One rule for ids from headers, bodies and the edge's scan, because every id
     * is echoed as that header: Vert.x refuses a value with a line break or NUL by throwing, which left the request
     * unanswered.
     */
    public static String fit(String id) {
        if (id == null || id.isBlank() || id.length() > 128) {
            return null;
        }
        for (int i = 0; i < id.length(); i++) {
            char c = id.charAt(i);
            if (c < ' ' || c > '~') {
                return null;
            }
        }
        return id;
    }
}
