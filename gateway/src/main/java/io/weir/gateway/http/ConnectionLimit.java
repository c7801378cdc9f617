package io.weir.gateway.http;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * The most client connections the gateway keeps open ({@code http.max.connections}), counted across its event loops.
 *
 * <p>Why: a client pool that opens a connection for every request that finds none idle (Gatling's shared pool does)
 * answers any stall of the gateway with thousands of new connections; each costs the gateway about 8 KB of heap that
 * lives as long as the connection, so the next GC pause is longer and the next stall worse (docs/PERF.md, "The
 * gateway's heap per client connection"). A limit bounds that loop: past it a connection's requests are refused at
 * once and the connection is closed.
 *
 * <p>Design note. One instance shared by every {@code HttpVerticle}; each loop calls {@link #tryOpen} when a
 * connection is established and {@link #closed} when an admitted one closes. The count is an atomic, so it never
 * exceeds the limit by more than a transient overshoot that {@link #tryOpen} takes back at once.
 */
public final class ConnectionLimit {
    private final int max;
    private final AtomicInteger open = new AtomicInteger();

    /** @param max connections admitted at most; 0 or less admits every connection (still counted) */
    public ConnectionLimit(int max) {
        this.max = max;
    }

    /** Counts a new connection in; false, counting nothing, when that would pass the limit. */
    boolean tryOpen() {
        int now = open.incrementAndGet();
        if (max > 0 && now > max) {
            open.decrementAndGet();
            return false;
        }
        return true;
    }

    /** An admitted connection closed. */
    void closed() {
        open.decrementAndGet();
    }

    int max() {
        return max;
    }

    int open() {
        return open.get();
    }
}
