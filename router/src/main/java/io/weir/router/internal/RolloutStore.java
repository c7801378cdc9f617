package io.weir.router.internal;

import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.weir.router.Followed;
import io.weir.router.ModelCatalog;
import io.weir.router.RolloutConfig;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.function.UnaryOperator;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Holds every model's rollout and is the only place they change. The file
 * {@code {"models": {"<model>": <rollout>, ...}}} is both the operator's way in (edits are picked up by
 * {@link #pollFile()}) and where every accepted change is written back, so the serving state — including the guard's
 * stage and a rollback — survives a restart.
 *
 * <p>Design: one writer at a time ({@code lock}): catch up with the file → validate → append the audit record → write
 * the file → publish a new immutable {@link RoutingTable} through a volatile field. The router only reads that field.
 * A rejected change publishes nothing, so the previous table keeps serving; the rejection is audited and its reasons
 * thrown (admin) or logged (file). Invariants: whatever the file holds was audited first (a change whose record cannot
 * be appended is neither written nor published; one whose file cannot be written is followed by a record saying it
 * was not applied), and an edit of the file is never written over unread: before a change is made, an operator's edit
 * not yet polled is applied (and audited) as a poll would have done, and the change applies on top of it. (There is
 * no conflict error to refuse it with, and refusing would refuse rollbacks, which must always succeed.)
 * Normalisation applied to every change: a new canary version starts a new rollout (stage 0, running), and while a
 * staged rollout runs, the current stage decides the canary weight (and, for a shadow stage, mirrors to the canary
 * version).
 */
public final class RolloutStore {
    private static final Logger LOG = Logger.getLogger(RolloutStore.class.getName());

    /** Who changed what, and why: the audit record's actor, action and reason. */
    public record Change(String actor, String action, String why) {
    }

    /** What a poll of the config file did. */
    public enum FileOutcome { UNCHANGED, APPLIED, REJECTED, MISSING }

    private final ModelCatalog catalog;
    private final AuditLog audit;
    private final Path file;
    private final Object lock = new Object();
    private volatile RoutingTable table = RoutingTable.EMPTY;
    private volatile Runnable onPublish = () -> { };
    /** The file content last read or written (guarded by lock), so a poll ignores our own writes and repeats. */
    private byte[] lastFileBytes;
    private volatile String lastFileDigest;
    private String lastFileRejection;
    /** The file content (digest) the cluster's previous leader had applied, when this replica took over (guarded by lock). */
    private String seenElsewhereDigest;
    /** The reason the leader's rollouts were last refused (guarded by lock), so a refusal repeating every sync is audited once. */
    private String lastFollowRejection;

    /** @param file the rollout config file, or null to keep rollouts in memory only */
    public RolloutStore(ModelCatalog catalog, AuditLog audit, Path file) {
        this.catalog = catalog;
        this.audit = audit;
        this.file = file;
    }

    public RoutingTable table() {
        return table;
    }

    public Optional<RolloutConfig> get(String model) {
        RoutingTable.Entry e = table.models().get(model);
        return e == null ? Optional.empty() : Optional.of(e.config());
    }

    public Map<String, RolloutConfig> all() {
        Map<String, RolloutConfig> out = new TreeMap<>();
        table.models().forEach((k, v) -> out.put(k, v.config()));
        return out;
    }

    public AuditLog audit() {
        return audit;
    }

    /** Parses and applies a whole rollout from JSON (admin PUT). */
    public RolloutConfig put(String model, JsonObject body, Change change) {
        RolloutConfig next;
        try {
            next = RolloutConfig.fromJson(model, body);
        } catch (WeirException e) {
            synchronized (lock) {
                audit.append(change.actor(), change.action(), model, change.why(), false, e.getMessage(),
                        get(model).map(RolloutConfig::toJson).orElse(null), body == null ? null : body.copy());
            }
            throw e;
        }
        return put(next, change);
    }

    public RolloutConfig put(RolloutConfig next, Change change) {
        synchronized (lock) {
            catchUpWithFile();
            return apply(next.model(), next, change, true);
        }
    }

    /**
     * Changes an existing rollout.
     *
     * @param checkReady false for changes that only take traffic away (rollback), which must succeed even when a
     *                   version has gone away
     * @throws WeirException NOT_FOUND when the model has no rollout; INVALID_ARGUMENT when the result is invalid or
     *                       {@code change} throws it
     */
    public RolloutConfig update(String model, Change change, boolean checkReady, UnaryOperator<RolloutConfig> edit) {
        synchronized (lock) {
            catchUpWithFile();
            RolloutConfig prev = get(model).orElseThrow(() -> WeirException.notFound("model '" + model + "' has no rollout"));
            RolloutConfig next;
            try {
                next = edit.apply(prev);
            } catch (WeirException e) {
                audit.append(change.actor(), change.action(), model, change.why(), false, e.getMessage(), prev.toJson(), null);
                throw e;
            }
            return apply(model, next, change, checkReady);
        }
    }

    /**
     * {@link #update} only while the model's rollout still satisfies {@code expected}: a compare-and-set for the
     * rollout guard, which decides on a snapshot and must not overwrite a change that landed since it took it.
     *
     * @return the new rollout, or empty when the current one no longer satisfies {@code expected} (or is gone): then
     *         nothing is changed or audited
     */
    public Optional<RolloutConfig> updateIf(String model, Predicate<RolloutConfig> expected, Change change,
                                            boolean checkReady, UnaryOperator<RolloutConfig> edit) {
        synchronized (lock) {
            catchUpWithFile();
            RolloutConfig current = get(model).orElse(null);
            if (current == null || !expected.test(current)) {
                return Optional.empty();
            }
            return Optional.of(update(model, change, checkReady, edit));
        }
    }

    public void remove(String model, Change change) {
        synchronized (lock) {
            catchUpWithFile();
            RolloutConfig prev = get(model).orElseThrow(() -> WeirException.notFound("model '" + model + "' has no rollout"));
            Map<String, RolloutConfig> next = new TreeMap<>(all());
            next.remove(model);
            audit.append(change.actor(), change.action(), model, change.why(), true, null, prev.toJson(), null);
            persistAudited(next, model, change, prev, null);
            publish(next);
        }
    }

    /** Caller holds lock. */
    private RolloutConfig apply(String model, RolloutConfig requested, Change change, boolean checkReady) {
        RolloutConfig prev = get(model).orElse(null);
        RolloutConfig next = normalise(prev, requested);
        List<String> problems = next.problems(checkReady ? catalog : null);
        if (!problems.isEmpty()) {
            String reason = String.join("; ", problems);
            audit.append(change.actor(), change.action(), model, change.why(), false, reason,
                    prev == null ? null : prev.toJson(), requested.toJson());
            throw new WeirException(ErrorCode.INVALID_ARGUMENT, "rollout for '" + model + "' rejected: " + reason);
        }
        if (next.equals(prev)) {
            return prev;
        }
        Map<String, RolloutConfig> all = new TreeMap<>(all());
        all.put(model, next);
        audit.append(change.actor(), change.action(), model, change.why(), true, null,
                prev == null ? null : prev.toJson(), next.toJson());
        persistAudited(all, model, change, prev, next);
        publish(all);
        LOG.info(() -> change.actor() + " " + change.action() + " " + model + ": " + summary(next)
                + (change.why() == null ? "" : " (" + change.why() + ")"));
        return next;
    }

    static RolloutConfig normalise(RolloutConfig prev, RolloutConfig next) {
        RolloutConfig c = next;
        if (prev != null && c.canary() != null && !c.canary().equals(prev.canary())) {
            c = c.toBuilder().stage(0).status(RolloutConfig.Status.RUNNING, null).build();
        }
        if (c.canary() != null && c.hasStages() && c.status() == RolloutConfig.Status.RUNNING
                && c.stage() >= 0 && c.stage() < c.stages().size()) {
            RolloutConfig.Stage s = c.currentStage();
            RolloutConfig.Builder b = c.toBuilder();
            if (s.shadow()) {
                b.canaryWeight(0).shadow(c.canary()).shadowSampleRate(c.shadowSampleRate() > 0 ? c.shadowSampleRate() : 1.0);
            } else {
                b.canaryWeight(s.canaryWeight());
            }
            c = b.build();
        }
        return c;
    }

    /**
     * Writes a change whose accepting record is already appended; when the file cannot be written, a second record
     * says the change was not applied (best effort: the disk may be failing for the audit log too) and the caller
     * publishes nothing. Caller holds lock.
     */
    private void persistAudited(Map<String, RolloutConfig> configs, String model, Change change, RolloutConfig prev,
                                RolloutConfig next) {
        try {
            persist(configs);
        } catch (UncheckedIOException e) {
            try {
                audit.append(change.actor(), change.action(), model, change.why(), false,
                        "not applied: " + e.getMessage() + ": " + e.getCause().getMessage(),
                        prev == null ? null : prev.toJson(), next == null ? null : next.toJson());
            } catch (UncheckedIOException auditFailed) {
                e.addSuppressed(auditFailed);
            }
            throw e;
        }
    }

    private void publish(Map<String, RolloutConfig> configs) {
        table = RoutingTable.of(table.revision() + 1, configs);
        onPublish.run();
    }

    /**
     * Runs {@code r} after every change is published (under the store's lock: it must only hand work off, such as a
     * cluster leader's push of its new rollouts to its followers).
     */
    public void setOnPublish(Runnable r) {
        onPublish = Objects.requireNonNull(r);
    }

    private static String summary(RolloutConfig c) {
        return "primary=" + c.primary() + (c.canary() == null ? "" : " canary=" + c.canary() + "@" + c.canaryWeight() + "%")
                + (c.shadow() == null ? "" : " shadow=" + c.shadow() + "@" + c.shadowSampleRate())
                + (c.hasStages() ? " stage=" + c.currentStage().name() : "") + " " + c.status().json()
                + (c.paused() ? " paused" : "");
    }

    // ---------------------------------------------------------------------------------------------- the file

    /**
     * Loads the config file at start-up. A missing file means no rollouts yet.
     *
     * @throws WeirException INVALID_ARGUMENT with every reason when the file is invalid (nothing serves yet, so
     *                       there is no old config to fall back to: refusing to start is the safe choice)
     */
    public void loadFile() {
        if (file == null) {
            return;
        }
        FileOutcome o = pollFile();
        if (o == FileOutcome.REJECTED) {
            throw WeirException.invalid("rollout file " + file + " is invalid: " + lastFileRejection);
        }
    }

    /**
     * Applies the file if its content changed since it was last read or written: all of it (every model validated,
     * each change audited as action {@code file}) or, when anything in it is invalid, none of it — the rejection is
     * audited and logged, and the current rollouts keep serving. Models missing from a valid file lose their rollout.
     */
    public FileOutcome pollFile() {
        if (file == null) {
            return FileOutcome.UNCHANGED;
        }
        synchronized (lock) {
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (NoSuchFileException e) {
                return FileOutcome.MISSING;
            } catch (IOException e) {
                LOG.log(Level.WARNING, "cannot read rollout file " + file + ": " + e.getMessage());
                return FileOutcome.UNCHANGED;
            }
            if (Arrays.equals(bytes, lastFileBytes)) {
                return FileOutcome.UNCHANGED;
            }
            if (seenElsewhereDigest != null && sha256(bytes).equals(seenElsewhereDigest)) {
                rememberFile(bytes); // what the previous leader already applied, arriving late in this copy
                return FileOutcome.UNCHANGED;
            }
            rememberFile(bytes);
            Change change = new Change("file", "file", "edited " + file.getFileName());
            Map<String, RolloutConfig> parsed = new TreeMap<>();
            List<String> problems = new ArrayList<>();
            try {
                parse(bytes, parsed);
            } catch (DecodeException | WeirException | ClassCastException e) {
                problems.add(e.getMessage());
            }
            Map<String, RolloutConfig> before = all();
            Map<String, RolloutConfig> after = new TreeMap<>();
            for (Map.Entry<String, RolloutConfig> e : parsed.entrySet()) {
                RolloutConfig next = normalise(before.get(e.getKey()), e.getValue());
                next.problems(catalog).forEach(p -> problems.add(e.getKey() + ": " + p));
                after.put(e.getKey(), next);
            }
            if (!problems.isEmpty()) {
                lastFileRejection = String.join("; ", problems);
                audit.append(change.actor(), change.action(), null, change.why(), false, lastFileRejection, null, null);
                LOG.warning("rollout file " + file + " rejected, previous rollouts keep serving: " + lastFileRejection);
                return FileOutcome.REJECTED;
            }
            lastFileRejection = null;
            if (after.equals(before)) {
                return FileOutcome.UNCHANGED;
            }
            auditWholeChange(before, after, change);
            if (!after.equals(parsed)) {
                try {
                    persist(after); // the normalised form (a new canary's stage 0, the stage's weight)
                } catch (UncheckedIOException e) {
                    // the operator's valid, audited edit is in the file already: it serves; the next change writes it
                    LOG.log(Level.WARNING, "cannot write the normalised rollouts back to " + file, e);
                }
            }
            publish(after);
            LOG.info(() -> "applied rollout file " + file + ": " + after.keySet());
            return FileOutcome.APPLIED;
        }
    }

    /**
     * Makes this replica's rollouts the leader's (a cluster follower's only writer), model by model: each change audited
     * as action {@code follow} by actor {@code leader <node>}, a model the leader no longer has removed. A model whose
     * leader's rollout cannot be served here — it did not parse ({@code unparsed}: a newer leader's field this replica
     * does not know), or it sends traffic to a version not loaded here (a replica whose model repository differs) — is
     * refused alone, so that it never holds back the other models' changes, rollbacks above all: this replica then
     * serves that model's leader's primary alone when it has it loaded (never a canary the fleet may have rolled back
     * since), else keeps what it had. The refusal is audited and logged once per distinct reason, and the leader's
     * rollout applies as soon as it can (the caller offers the leader's state again at every sync). (A rolled-back
     * canary gets no traffic and need not be loaded.) The leader's rollouts are already normalised and judged; this does
     * not re-judge them. The file, if any, is written best-effort so that it matches what serves when this replica
     * leads or restarts; the leader's state is the truth either way, so a write failure does not stop it from serving.
     *
     * @param unparsed         models of the leader's state that did not parse here, with why
     * @param unparsedPrimaries the primary version the leader named for each of those, where it named one
     */
    public Followed follow(Map<String, RolloutConfig> leaderRollouts, Map<String, String> unparsed,
                           Map<String, String> unparsedPrimaries, String leader) {
        synchronized (lock) {
            Map<String, RolloutConfig> before = all();
            Map<String, RolloutConfig> after = new TreeMap<>();
            Map<String, String> refused = new TreeMap<>(unparsed);
            leaderRollouts.forEach((model, next) -> {
                List<String> problems = next.problems(catalog);
                if (problems.isEmpty()) {
                    after.put(model, next);
                } else {
                    refused.put(model, String.join("; ", problems));
                }
            });
            for (String model : refused.keySet()) {
                RolloutConfig leaders = leaderRollouts.get(model);
                String primary = leaders != null ? leaders.primary() : unparsedPrimaries.get(model);
                RolloutConfig fallback = primary == null ? null : RolloutConfig.primaryOnly(model, primary);
                if (fallback != null && fallback.problems(catalog).isEmpty()) {
                    after.put(model, fallback);
                } else if (before.containsKey(model)) {
                    after.put(model, before.get(model));
                }
            }
            Change change = new Change("leader " + leader, "follow", "rollouts of the cluster's leader");
            String rejection = refused.isEmpty() ? null : refused.toString();
            if (rejection != null && !rejection.equals(lastFollowRejection)) {
                refused.forEach((model, reason) -> audit.append(change.actor(), change.action(), model, change.why(), false,
                        reason, before.containsKey(model) ? before.get(model).toJson() : null,
                        leaderRollouts.containsKey(model) ? leaderRollouts.get(model).toJson() : null));
                LOG.warning("cannot follow the rollouts of leader " + leader + " for " + refused.keySet()
                        + ", this replica's keep serving: " + rejection);
            }
            lastFollowRejection = rejection;
            if (after.equals(before)) {
                return new Followed(false, refused);
            }
            auditWholeChange(before, after, change);
            try {
                persist(after);
            } catch (UncheckedIOException e) {
                LOG.log(Level.WARNING, "cannot write the leader's rollouts to " + file + " (they serve anyway)", e);
            }
            publish(after);
            LOG.info(() -> "following leader " + leader + ": " + after.keySet());
            return new Followed(true, refused);
        }
    }

    /**
     * Audits, as accepted, every model a whole-state change (a file edit, a leader's state) adds, changes or removes.
     * Caller holds lock.
     */
    private void auditWholeChange(Map<String, RolloutConfig> before, Map<String, RolloutConfig> after, Change change) {
        for (String model : before.keySet()) {
            if (!after.containsKey(model)) {
                audit.append(change.actor(), "remove", model, change.why(), true, null, before.get(model).toJson(), null);
            }
        }
        after.forEach((model, next) -> {
            RolloutConfig prev = before.get(model);
            if (!next.equals(prev)) {
                audit.append(change.actor(), change.action(), model, change.why(), true, null,
                        prev == null ? null : prev.toJson(), next.toJson());
            }
        });
    }

    /**
     * SHA-256 (hex) of the file content last read or written, or null without a file or before the first. Lock-free:
     * a replica's state, asked by its peers on an event loop, must not wait for a write of the file.
     */
    public String fileDigest() {
        return lastFileDigest;
    }

    /** Caller holds lock. */
    private void rememberFile(byte[] bytes) {
        lastFileBytes = bytes;
        lastFileDigest = bytes == null ? null : sha256(bytes);
    }

    private static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /**
     * For a replica that starts to lead its cluster: takes the file's current content as already applied when it is
     * what the previous leader last read or wrote ({@code leadersFileDigest}, from its state): that content is in the
     * rollouts this replica followed, possibly changed since by the cluster, and applying it again would undo those
     * changes (a rollback). A different content is an edit no leader applied (one that reached this replica's copy of a
     * shared file first): the next poll applies it. That content, should it reach this replica's copy only later, is
     * not applied either. Without a digest (no previous leader) the file is left to the next poll, as at a replica's
     * start.
     */
    public void takeFileAsSeenIf(String leadersFileDigest) {
        if (file == null || leadersFileDigest == null) {
            return;
        }
        synchronized (lock) {
            seenElsewhereDigest = leadersFileDigest; // also when this replica's copy of a shared file catches up later
            try {
                byte[] bytes = Files.readAllBytes(file);
                if (sha256(bytes).equals(leadersFileDigest)) {
                    rememberFile(bytes);
                }
            } catch (IOException e) {
                // missing or unreadable: the next poll says so, as it would have
            }
        }
    }

    /**
     * Applies an edit of the file made since the last poll, before a change is made and written over it. Caller holds
     * lock (which is reentrant).
     */
    private void catchUpWithFile() {
        pollFile();
    }

    private static void parse(byte[] bytes, Map<String, RolloutConfig> out) {
        JsonObject root = new JsonObject(new String(bytes, StandardCharsets.UTF_8));
        for (String k : root.fieldNames()) {
            if (!k.equals("models")) {
                throw WeirException.invalid("rollout file has unknown field '" + k + "' (expected {\"models\": {...}})");
            }
        }
        Object models = root.getValue("models");
        if (models == null) {
            return;
        }
        if (!(models instanceof JsonObject m)) {
            throw WeirException.invalid("'models' must be an object keyed by model name");
        }
        for (String model : m.fieldNames()) {
            Object v = m.getValue(model);
            if (!(v instanceof JsonObject body)) {
                throw WeirException.invalid("models." + model + " must be an object");
            }
            out.put(model, RolloutConfig.fromJson(model, body));
        }
    }

    /**
     * Writes all rollouts to the file atomically and durably: a crash leaves the old file or the new one, whole; a
     * failed write leaves the old one and no temporary file (caller holds lock).
     */
    private void persist(Map<String, RolloutConfig> configs) {
        if (file == null) {
            return;
        }
        JsonObject models = new JsonObject();
        configs.forEach((k, v) -> models.put(k, v.toJson()));
        byte[] bytes = (new JsonObject().put("models", models).encodePrettily() + "\n").getBytes(StandardCharsets.UTF_8);
        Path tmp = null;
        try {
            Path dir = Objects.requireNonNullElse(file.toAbsolutePath().getParent(), Path.of("."));
            Files.createDirectories(dir);
            tmp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ByteBuffer buf = ByteBuffer.wrap(bytes);
                while (buf.hasRemaining()) {
                    ch.write(buf);
                }
                ch.force(true); // the content is on disk before the rename can make it the file
            }
            try {
                Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
            tmp = null;
            // the rename lives in the directory: without this a crash may bring the old file back. If it fails, the
            // file holds the change unpublished and lastFileBytes stays old, so the next poll applies it
            syncDirectory(dir);
        } catch (IOException e) {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException cleanup) {
                    e.addSuppressed(cleanup);
                }
            }
            throw new UncheckedIOException("cannot write rollout file " + file, e);
        }
        rememberFile(bytes);
    }

    private static void syncDirectory(Path dir) throws IOException {
        FileChannel ch;
        try {
            ch = FileChannel.open(dir, StandardOpenOption.READ);
        } catch (IOException e) {
            return; // some platforms (Windows) cannot open a directory: there the rename is as durable as they make it
        }
        try (ch) {
            ch.force(true);
        }
    }
}
