package io.weir.router.internal;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.ThreadLocalRandom;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Sampled shadow diffs keyed by {@code request_id}: a bounded in-memory ring for the admin API and, optionally, a JSON
 * lines file. A request is sampled by its id (so a diff can be looked for by the id the client saw); label
 * disagreements are always kept, because they are the diffs worth reading.
 *
 * <p>Design: appended by shadow workers, read by admin calls; both under this object's monitor (low rate: only
 * sampled comparisons reach it). A file that cannot be written is logged once and the ring keeps working.
 */
public final class DiffLog {
    private static final Logger LOG = Logger.getLogger(DiffLog.class.getName());
    private static final long SAMPLE_SEED = Assignment.seed("weir-diff-log");

    private final Path file;
    private final int capacity;
    private final int samplePoints;
    private final Deque<JsonObject> ring = new ArrayDeque<>();
    private boolean fileFailed;

    /**
     * @param file       JSON-lines file to append to, or null
     * @param capacity   entries kept in memory
     * @param sampleRate share of comparisons logged (0..1), label disagreements aside
     */
    public DiffLog(Path file, int capacity, double sampleRate) {
        if (!(sampleRate >= 0 && sampleRate <= 1)) {
            throw new IllegalArgumentException("diff sample rate must be between 0 and 1");
        }
        this.file = file;
        this.capacity = capacity;
        this.samplePoints = (int) Math.round(sampleRate * Assignment.SAMPLE_POINTS);
    }

    public boolean sampled(String requestId, boolean labelsDisagree) {
        if (labelsDisagree) {
            return true;
        }
        int point = requestId == null ? ThreadLocalRandom.current().nextInt(Assignment.SAMPLE_POINTS)
                : Assignment.point(SAMPLE_SEED, requestId, Assignment.SAMPLE_POINTS);
        return point < samplePoints;
    }

    public synchronized void append(JsonObject entry) {
        ring.addLast(entry);
        while (ring.size() > capacity) {
            ring.removeFirst();
        }
        if (file != null && !fileFailed) {
            try {
                Files.writeString(file, entry.encode() + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND, StandardOpenOption.WRITE);
            } catch (IOException e) {
                fileFailed = true;
                LOG.log(Level.WARNING, "cannot append to shadow diff log " + file + "; keeping diffs in memory only", e);
            }
        }
    }

    /** Newest last; {@code model} and {@code requestId} filter when non-null. */
    public synchronized JsonArray recent(String model, String requestId, int limit) {
        Deque<JsonObject> picked = new ArrayDeque<>();
        var it = ring.descendingIterator();
        while (it.hasNext() && picked.size() < limit) {
            JsonObject e = it.next();
            if ((model == null || model.equals(e.getString("model")))
                    && (requestId == null || requestId.equals(e.getString("request_id")))) {
                picked.addFirst(e.copy());
            }
        }
        return new JsonArray(new java.util.ArrayList<>(picked));
    }
}
