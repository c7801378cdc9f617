package io.weir.router.internal;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Append-only record of every rollout change, accepted or rejected: one JSON object per line,
 *
 * <pre>{@code
 * {"at": "2025-01-01T12:00:00Z", "actor": "alice", "action": "put", "model": "moderation", "why": "...",
 *  "accepted": true, "reason": null, "previous": {...} | null, "next": {...} | null}
 * }</pre>
 *
 * Kept in a bounded memory ring for the admin API and, when a file is given, appended (and flushed) to it before the
 * change is written to the rollout file or published, so a change that is serving, or will after a restart, is always
 * on disk here first. Writers are serialised by the rollout store's
 * lock; reads copy under this object's monitor.
 */
public final class AuditLog {
    private final Path file;
    private final Clock clock;
    private final int memory;
    private final Deque<JsonObject> recent = new ArrayDeque<>();

    /** @param file where to append, or null to keep the log in memory only */
    public AuditLog(Path file, Clock clock, int memory) {
        this.file = file;
        this.clock = clock;
        this.memory = memory;
    }

    public synchronized JsonObject append(String actor, String action, String model, String why, boolean accepted,
                                          String reason, JsonObject previous, JsonObject next) {
        JsonObject rec = new JsonObject().put("at", clock.instant().toString()).put("actor", actor)
                .put("action", action).put("model", model).put("why", why).put("accepted", accepted)
                .put("reason", reason).put("previous", previous).put("next", next);
        if (file != null) {
            try {
                Files.writeString(file, rec.encode() + "\n", StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND, StandardOpenOption.WRITE, StandardOpenOption.SYNC);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot append to the audit log " + file, e);
            }
        }
        recent.addLast(rec);
        while (recent.size() > memory) {
            recent.removeFirst();
        }
        return rec;
    }

    /** The newest {@code limit} records, newest last; {@code model} null means all models. */
    public synchronized JsonArray recent(String model, int limit) {
        JsonArray out = new JsonArray();
        recent.descendingIterator().forEachRemaining(r -> {
            if (out.size() < limit && (model == null || model.equals(r.getString("model")))) {
                out.add(r.copy());
            }
        });
        JsonArray ordered = new JsonArray();
        for (int i = out.size() - 1; i >= 0; i--) {
            ordered.add(out.getValue(i));
        }
        return ordered;
    }
}
