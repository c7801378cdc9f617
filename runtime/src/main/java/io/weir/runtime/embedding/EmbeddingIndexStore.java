package io.weir.runtime.embedding;

import io.weir.runtime.Ticker;
import io.weir.runtime.repository.Versions;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Serves the newest {@code index-<version>.bin} of one directory and swaps in a newer version without downtime.
 *
 * <p>Design: the served version is an immutable {@link Generation} (index + its {@link VectorSearch} + when it was
 * swapped in) behind an {@link AtomicReference}. Readers {@link #acquire()} a {@link Lease} that pins a generation
 * with a reference count; {@link #refresh()} loads and verifies the new file entirely off to the side, builds its
 * search, then swaps the reference in one step, so every query sees either the old or the new version, whole. The
 * old generation's search is closed when its last lease is released (its reference count starts at one for the
 * store and never goes back up once it reaches zero). Refreshes are serialised by a lock (the scheduler and an admin
 * call may race); readers never take it. A file that fails its checksum or validation is refused and the current
 * version stays served.
 */
public final class EmbeddingIndexStore implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(EmbeddingIndexStore.class.getName());

    /** What a refresh did. */
    public record RefreshResult(boolean swapped, String previousVersion, String version) {
    }

    private final Path directory;
    private final Ticker ticker;
    private final VectorSearch.Factory searches;
    private final AtomicReference<Generation> current = new AtomicReference<>();
    private final ReentrantLock refreshLock = new ReentrantLock();
    private final AtomicInteger swaps = new AtomicInteger();
    private volatile ScheduledExecutorService scheduler;
    private volatile boolean closed;

    private EmbeddingIndexStore(Path directory, Ticker ticker, VectorSearch.Factory searches) {
        this.directory = directory.toAbsolutePath().normalize();
        this.ticker = ticker;
        this.searches = searches;
    }

    /**
     * Opens the directory and loads its newest index, if any (without one, queries answer UNAVAILABLE until a
     * refresh finds a file).
     *
     * @throws IOException when the newest file is unreadable or invalid
     */
    public static EmbeddingIndexStore open(Path directory, Ticker ticker, VectorSearch.Factory searches) throws IOException {
        EmbeddingIndexStore store = new EmbeddingIndexStore(directory, ticker, searches);
        store.refresh();
        return store;
    }

    public Path directory() {
        return directory;
    }

    /**
     * Loads the newest file if it is newer than the served version and swaps it in.
     *
     * @throws IOException when the newest file cannot be read or is invalid; the served version is unchanged
     */
    public RefreshResult refresh() throws IOException {
        refreshLock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("embedding index store is closed");
            }
            Generation served = current.get();
            String servedVersion = served == null ? null : served.index.version();
            Optional<Path> newest = EmbeddingIndexFile.newest(directory);
            if (newest.isEmpty()) {
                return new RefreshResult(false, servedVersion, servedVersion);
            }
            String candidate = EmbeddingIndexFile.versionOf(newest.get()).orElseThrow();
            if (servedVersion != null && Versions.ORDER.compare(candidate, servedVersion) <= 0) {
                return new RefreshResult(false, servedVersion, servedVersion);
            }
            long start = System.nanoTime();
            EmbeddingIndex index = EmbeddingIndexFile.read(newest.get());
            if (served != null && index.dimensions() != served.index.dimensions()) {
                LOG.warning("embedding index " + candidate + " changes dimensions from " + served.index.dimensions()
                        + " to " + index.dimensions() + "; embedding queries must follow");
            }
            Generation next = new Generation(index, searches.create(index), ticker.nanos());
            current.set(next);
            swaps.incrementAndGet();
            if (served != null) {
                served.release();
            }
            LOG.info("embedding index " + index + " (" + next.search.kind() + ") swapped in for " + servedVersion
                    + " after " + (System.nanoTime() - start) / 1_000_000 + " ms");
            return new RefreshResult(true, servedVersion, candidate);
        } finally {
            refreshLock.unlock();
        }
    }

    /** Refreshes every {@code period} on a daemon thread of the store's own until {@link #close()}. */
    public synchronized void refreshEvery(Duration period) {
        if (scheduler != null) {
            throw new IllegalStateException("already refreshing on a schedule");
        }
        ScheduledExecutorService s = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("weir-similar-index-refresh").factory());
        long ms = Math.max(1, period.toMillis());
        s.scheduleWithFixedDelay(() -> {
            try {
                refresh();
            } catch (IOException | RuntimeException e) {
                LOG.log(Level.WARNING, "scheduled embedding index refresh failed; keeping version " + version().orElse("none"), e);
            }
        }, ms, ms, TimeUnit.MILLISECONDS);
        scheduler = s;
    }

    /** Pins the served version until the lease is closed; empty when no index has been loaded. */
    public Optional<Lease> acquire() {
        while (true) {
            Generation g = current.get();
            if (g == null) {
                return Optional.empty();
            }
            if (g.retain()) {
                return Optional.of(new Lease(g));
            }
            // Lost a race with a swap that released g's last reference: the new generation is already published.
        }
    }

    public Optional<String> version() {
        Generation g = current.get();
        return g == null ? Optional.empty() : Optional.of(g.index.version());
    }

    /** Nanoseconds since the served version was swapped in, on the store's ticker; -1 when none is served. */
    public long ageNanos() {
        Generation g = current.get();
        return g == null ? -1 : ticker.nanos() - g.swappedInNanos;
    }

    /** When the served file was built (epoch ms), or -1. */
    public long builtAtEpochMillis() {
        Generation g = current.get();
        return g == null ? -1 : g.index.builtAtEpochMillis();
    }

    /** Successful swaps since open, the initial load included. */
    public int swaps() {
        return swaps.get();
    }

    @Override
    public void close() {
        ScheduledExecutorService s;
        synchronized (this) {
            s = scheduler;
            scheduler = null;
        }
        if (s != null) {
            s.shutdownNow();
        }
        refreshLock.lock();
        try {
            closed = true;
            Generation g = current.getAndSet(null);
            if (g != null) {
                g.release();
            }
        } finally {
            refreshLock.unlock();
        }
    }

    /** A pinned index version and its search; close exactly once. Not thread-safe itself. */
    public static final class Lease implements AutoCloseable {
        private final Generation generation;
        private boolean closed;

        private Lease(Generation generation) {
            this.generation = generation;
        }

        public EmbeddingIndex index() {
            return generation.index;
        }

        public VectorSearch search() {
            return generation.search;
        }

        @Override
        public void close() {
            if (!closed) {
                closed = true;
                generation.release();
            }
        }
    }

    private static final class Generation {
        final EmbeddingIndex index;
        final VectorSearch search;
        final long swappedInNanos;
        /** One for the store while served, plus one per open lease; 0 means retired for good. */
        private final AtomicInteger refs = new AtomicInteger(1);

        Generation(EmbeddingIndex index, VectorSearch search, long swappedInNanos) {
            this.index = index;
            this.search = search;
            this.swappedInNanos = swappedInNanos;
        }

        boolean retain() {
            int r;
            do {
                r = refs.get();
                if (r == 0) {
                    return false;
                }
            } while (!refs.compareAndSet(r, r + 1));
            return true;
        }

        void release() {
            if (refs.decrementAndGet() == 0) {
                search.close();
            }
        }
    }
}
