package io.weir.gateway.http;

import io.weir.runtime.Ticker;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Logs a failure with its stack trace at most once an interval per message, and says how many like it it left out.
 * A failing backend fails whole batches, and every request of a batch reaches the error table with the same cause: at
 * a few hundred requests a second that was a stack trace per request, burying the one line an SRE needs in an outage.
 *
 * <p>Threads: called from every event loop at once. Each message has a window (its start and how many records it left
 * out), replaced by compare-and-set when it ends, so exactly one caller logs per window; counts of a window that ends
 * while another thread adds to it may be off by the racing few, which a summary line tolerates. At most
 * {@value #MAX_MESSAGES} messages are tracked: when a new one finds the map full, windows that ended are dropped, each
 * saying first how many it left out; if none ended, the new message is logged untracked (messages carry
 * request-specific text only by mistake). A window's count is written when its message comes back after the window
 * ends; the request metrics ({@code weir_http_requests_seconds_count} by code) carry the totals meanwhile.
 */
public final class LogThrottle {
    static final int MAX_MESSAGES = 256;

    private record Window(long startNanos, long suppressed) {
    }

    private final Logger log;
    private final long intervalNanos;
    private final Ticker ticker;
    private final Map<String, Window> windows = new ConcurrentHashMap<>();

    public LogThrottle(Logger log, long intervalNanos, Ticker ticker) {
        this.log = log;
        this.intervalNanos = intervalNanos;
        this.ticker = ticker;
    }

    public void log(Level level, String message, Throwable cause) {
        long now = ticker.nanos();
        while (true) {
            Window w = windows.get(message);
            if (w == null) {
                if (windows.size() >= MAX_MESSAGES && !evictEnded(now)) {
                    log.log(level, message, cause);
                    return;
                }
                if (windows.putIfAbsent(message, new Window(now, 0)) == null) {
                    log.log(level, message, cause);
                    return;
                }
            } else if (now - w.startNanos() >= intervalNanos) {
                if (windows.replace(message, w, new Window(now, 0))) {
                    log.log(level, w.suppressed() == 0 ? message : message + " (and " + w.suppressed()
                            + " more like it in the " + (now - w.startNanos()) / 1_000_000_000L + " s before, not logged)", cause);
                    return;
                }
            } else if (windows.replace(message, w, new Window(w.startNanos(), w.suppressed() + 1))) {
                return;
            }
        }
    }

    /** Drops the windows that ended, logging what each left out; whether any was dropped. */
    private boolean evictEnded(long now) {
        boolean any = false;
        for (Map.Entry<String, Window> e : windows.entrySet()) {
            Window w = e.getValue();
            if (now - w.startNanos() >= intervalNanos && windows.remove(e.getKey(), w)) {
                any = true;
                if (w.suppressed() > 0) {
                    log.log(Level.WARNING, e.getKey() + ": " + w.suppressed() + " more like it in the "
                            + (now - w.startNanos()) / 1_000_000_000L + " s before, not logged");
                }
            }
        }
        return any;
    }
}
