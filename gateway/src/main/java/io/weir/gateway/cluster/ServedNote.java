package io.weir.gateway.cluster;

import io.vertx.core.json.JsonObject;
import io.weir.gateway.http.LogThrottle;
import io.weir.runtime.Ticker;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The file beside the rollout file ({@code <file>.cluster.json}) where a replica notes the term and the leader's state
 * it serves, so that a restart keeps its rank ({@link ClusterMember} decides what to note and what to take back; this
 * only keeps the file). Named by the rollout file alone, so that a pod recreated with another address on the same
 * volume finds it. Best effort and not synced: a note lost or torn in a crash reads as none, which only ranks the
 * replica as one that applied nothing. Writers are serialised by this object's monitor, and the note is built inside
 * it, so that of two writers racing the later one writes the newer state; a note the same as the last written is not
 * written again (followers offer the same state at every sync).
 */
final class ServedNote {
    private static final Logger LOG = Logger.getLogger(ServedNote.class.getName());

    private final Path file;
    /** A note that cannot be written (a full disk) is logged once a minute, not at every sync. */
    private final LogThrottle failures = new LogThrottle(LOG, 60_000_000_000L, Ticker.system());
    /** The text last written (guarded by this). */
    private String written;

    ServedNote(Path rolloutFile) {
        this.file = rolloutFile.resolveSibling(rolloutFile.getFileName() + ".cluster.json");
    }

    Path path() {
        return file;
    }

    /** Writes {@code note}'s result atomically (through a temporary file of its own) unless it is what is there. */
    synchronized void write(Supplier<JsonObject> note) {
        String text = note.get().encode();
        if (text.equals(written)) {
            return;
        }
        Path tmp = null;
        try {
            tmp = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".tmp");
            Files.writeString(tmp, text);
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
            written = text;
        } catch (IOException | RuntimeException e) {
            failures.log(Level.WARNING, "cannot note the served term beside the rollout file (" + file
                    + "): after a restart this replica ranks as one that applied nothing: " + e, null);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the write failed already, and said so
                }
            }
        }
    }

    /** The note, or empty when there is none or it cannot be read (said in the log). */
    Optional<JsonObject> read() {
        try {
            return Optional.of(new JsonObject(Files.readString(file)));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            LOG.warning("ignoring " + file + ": " + e.getMessage());
            return Optional.empty();
        }
    }
}
