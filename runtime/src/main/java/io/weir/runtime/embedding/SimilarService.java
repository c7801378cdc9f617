package io.weir.runtime.embedding;

import io.weir.runtime.ErrorCode;
import io.weir.runtime.Ticker;
import io.weir.runtime.WeirException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Answers "the k items most similar to these items / this vector" from the served {@link EmbeddingIndexStore}
 * version, micro-batching concurrent queries so that one pass over the table serves them all.
 *
 * <p>Design: {@link #submit} validates what it can without an index (shape of the query, k, finite values) on the
 * caller's thread and enqueues into a bounded queue (full: RESOURCE_EXHAUSTED). One worker thread owns everything
 * after that: it takes a query, drains whatever else is waiting (up to {@code maxBatch}; no lingering, so an idle
 * service adds no latency and a busy one batches naturally), drops queries already past their deadline
 * (DEADLINE_EXCEEDED), pins one index version with a lease for the whole batch, resolves item ids against that
 * version (NOT_FOUND for unknown ones), runs one batched search and completes every future, exactly once, on the
 * worker thread. Callers hop back to their own thread. Deadlines are on the injected {@link Ticker}.
 */
public final class SimilarService implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(SimilarService.class.getName());

    public static final int MAX_K = 1000;
    public static final int MAX_ITEM_IDS = 256;
    public static final int MAX_ID_CHARS = 256;
    public static final int MAX_EMBEDDING_DIMENSIONS = 65_536;

    /** Either item ids or an embedding (not both), and how many neighbours. */
    public record Query(List<String> itemIds, float[] embedding, int k) {
        public Query {
            itemIds = itemIds == null ? List.of() : List.copyOf(itemIds);
            embedding = embedding == null ? new float[0] : embedding.clone();
        }
    }

    public record Neighbor(String itemId, float score) {
    }

    /** Neighbours best first, and which index version and search implementation answered. */
    public record Result(List<Neighbor> neighbors, String indexVersion, String searchKind) {
    }

    /**
     * @param queueCapacity queries waiting before RESOURCE_EXHAUSTED
     * @param maxBatch      most queries searched in one pass
     */
    public record Options(int queueCapacity, int maxBatch) {
        public Options {
            if (queueCapacity < 1 || maxBatch < 1) {
                throw new IllegalArgumentException("queueCapacity and maxBatch must be positive");
            }
        }

        public static Options defaults() {
            return new Options(1024, 32);
        }
    }

    private record Pending(Query query, long deadlineNanos, CompletableFuture<Result> future) {
    }

    private final EmbeddingIndexStore store;
    private final Ticker ticker;
    private final Options options;
    private final BlockingQueue<Pending> queue;
    private final LongAdder batches = new LongAdder();
    private final LongAdder searched = new LongAdder();
    private Thread worker;
    private volatile boolean closed;

    public SimilarService(EmbeddingIndexStore store, Ticker ticker, Options options) {
        this.store = Objects.requireNonNull(store);
        this.ticker = Objects.requireNonNull(ticker);
        this.options = Objects.requireNonNull(options);
        this.queue = new ArrayBlockingQueue<>(options.queueCapacity());
    }

    /** Starts the worker thread; until then queries wait in the queue (tests drive {@link #runBatch} instead). */
    public synchronized SimilarService start() {
        if (worker == null) {
            worker = Thread.ofPlatform().daemon().name("weir-similar-batcher").start(this::work);
        }
        return this;
    }

    public EmbeddingIndexStore store() {
        return store;
    }

    /** The clock deadlines are expressed on. */
    public Ticker ticker() {
        return ticker;
    }

    public int queued() {
        return queue.size();
    }

    public long batches() {
        return batches.sum();
    }

    public long queriesSearched() {
        return searched.sum();
    }

    /**
     * @param deadlineNanos on {@link #ticker()}; {@link Long#MAX_VALUE} for none
     * @return completes with the result, or exceptionally with a {@link WeirException}
     */
    public CompletableFuture<Result> submit(Query query, long deadlineNanos) {
        CompletableFuture<Result> f = new CompletableFuture<>();
        try {
            validate(query);
        } catch (WeirException e) {
            f.completeExceptionally(e);
            return f;
        }
        if (closed) {
            f.completeExceptionally(WeirException.unavailable("similarity search is shutting down"));
        } else if (!queue.offer(new Pending(query, deadlineNanos, f))) {
            f.completeExceptionally(WeirException.exhausted("similarity search queue is full (" + options.queueCapacity() + ")", 1));
        }
        return f;
    }

    static void validate(Query q) {
        boolean byItems = !q.itemIds().isEmpty();
        boolean byVector = q.embedding().length > 0;
        if (byItems == byVector) {
            throw WeirException.invalid(byItems ? "give item_ids or embedding, not both" : "give item_ids or an embedding");
        }
        if (q.k() < 1 || q.k() > MAX_K) {
            throw WeirException.invalid("k must be between 1 and " + MAX_K + ", was " + q.k());
        }
        if (q.itemIds().size() > MAX_ITEM_IDS) {
            throw WeirException.invalid("at most " + MAX_ITEM_IDS + " item_ids, got " + q.itemIds().size());
        }
        for (String id : q.itemIds()) {
            if (id == null || id.isEmpty() || id.length() > MAX_ID_CHARS) {
                throw WeirException.invalid("item ids must be non-empty strings of at most " + MAX_ID_CHARS + " characters");
            }
        }
        if (q.embedding().length > MAX_EMBEDDING_DIMENSIONS) {
            throw WeirException.invalid("embedding has more than " + MAX_EMBEDDING_DIMENSIONS + " values");
        }
        for (int i = 0; i < q.embedding().length; i++) {
            if (!Float.isFinite(q.embedding()[i])) {
                throw WeirException.invalid("embedding value " + i + " is not a finite number");
            }
        }
    }

    private void work() {
        List<Pending> batch = new ArrayList<>(options.maxBatch());
        while (!closed) {
            try {
                batch.add(queue.take());
            } catch (InterruptedException e) {
                break;
            }
            queue.drainTo(batch, options.maxBatch() - 1);
            runBatchOf(batch);
            batch.clear();
        }
        failAll(WeirException.unavailable("similarity search is shutting down"));
    }

    /** Runs one batch of whatever is queued on the calling thread; returns how many queries it took. For tests. */
    int runBatch() {
        List<Pending> batch = new ArrayList<>();
        queue.drainTo(batch, options.maxBatch());
        if (!batch.isEmpty()) {
            runBatchOf(batch);
        }
        return batch.size();
    }

    private void runBatchOf(List<Pending> batch) {
        try {
            search(batch);
        } catch (RuntimeException | Error e) {
            LOG.log(Level.SEVERE, "similarity batch failed", e);
            for (Pending p : batch) {
                p.future().completeExceptionally(new WeirException(ErrorCode.INTERNAL, "similarity search failed", 0, e));
            }
        }
    }

    private void search(List<Pending> batch) {
        long now = ticker.nanos();
        List<Pending> live = new ArrayList<>(batch.size());
        for (Pending p : batch) {
            if (p.future().isDone()) {
                continue;
            }
            if (now - p.deadlineNanos() >= 0 && p.deadlineNanos() != Long.MAX_VALUE) {
                p.future().completeExceptionally(WeirException.deadline("deadline passed before the search started"));
            } else {
                live.add(p);
            }
        }
        if (live.isEmpty()) {
            return;
        }
        Optional<EmbeddingIndexStore.Lease> leased = store.acquire();
        if (leased.isEmpty()) {
            for (Pending p : live) {
                p.future().completeExceptionally(WeirException.unavailable("no embedding index is loaded yet"));
            }
            return;
        }
        try (EmbeddingIndexStore.Lease lease = leased.get()) {
            EmbeddingIndex index = lease.index();
            List<Pending> ready = new ArrayList<>(live.size());
            List<float[]> vectors = new ArrayList<>(live.size());
            List<int[]> excluded = new ArrayList<>(live.size());
            for (Pending p : live) {
                try {
                    int[] ex = excludedRows(p.query(), index);
                    vectors.add(queryVector(p.query(), index, ex));
                    excluded.add(ex);
                    ready.add(p);
                } catch (WeirException e) {
                    p.future().completeExceptionally(e);
                }
            }
            VectorSearch main = lease.search();
            List<Integer> onMain = new ArrayList<>();
            List<Integer> onCpu = new ArrayList<>();
            for (int i = 0; i < ready.size(); i++) {
                long need = (long) ready.get(i).query().k() + excluded.get(i).length;
                (need <= main.maxK() ? onMain : onCpu).add(i);
            }
            run(main, onMain, ready, vectors, excluded, index);
            if (!onCpu.isEmpty()) {
                // k beyond what the main (device) search supports: an exact CPU scan on this thread.
                try (VectorSearch cpu = VectorSearch.cpu(1).create(index)) {
                    run(cpu, onCpu, ready, vectors, excluded, index);
                }
            }
            batches.increment();
            searched.add(ready.size());
        }
    }

    private static void run(VectorSearch search, List<Integer> which, List<Pending> ready, List<float[]> vectors,
                            List<int[]> excluded, EmbeddingIndex index) {
        if (which.isEmpty()) {
            return;
        }
        int d = index.dimensions();
        int n = which.size();
        float[] queries = new float[n * d];
        int[] k = new int[n];
        int[][] ex = new int[n][];
        for (int j = 0; j < n; j++) {
            int i = which.get(j);
            System.arraycopy(vectors.get(i), 0, queries, j * d, d);
            k[j] = ready.get(i).query().k();
            ex[j] = excluded.get(i);
        }
        VectorSearch.Hits[] hits = search.search(queries, n, k, ex);
        for (int j = 0; j < n; j++) {
            VectorSearch.Hits h = hits[j];
            List<Neighbor> neighbors = new ArrayList<>(h.size());
            for (int r = 0; r < h.size(); r++) {
                neighbors.add(new Neighbor(index.id(h.rows()[r]), h.scores()[r]));
            }
            ready.get(which.get(j)).future().complete(new Result(List.copyOf(neighbors), index.version(), search.kind()));
        }
    }

    private static int[] excludedRows(Query q, EmbeddingIndex index) {
        if (q.itemIds().isEmpty()) {
            return new int[0];
        }
        LinkedHashSet<String> unknown = new LinkedHashSet<>();
        LinkedHashSet<Integer> rows = new LinkedHashSet<>();
        for (String id : q.itemIds()) {
            OptionalInt r = index.row(id);
            if (r.isPresent()) {
                rows.add(r.getAsInt());
            } else {
                unknown.add(id);
            }
        }
        if (!unknown.isEmpty()) {
            List<String> shown = unknown.stream().limit(5).toList();
            throw WeirException.notFound("unknown item id" + (unknown.size() > 1 ? "s " : " ") + shown
                    + (unknown.size() > shown.size() ? " and " + (unknown.size() - shown.size()) + " more" : "")
                    + " in embedding index " + index.version());
        }
        return rows.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The normalised query: the given embedding, or the mean of the given items' vectors. */
    private static float[] queryVector(Query q, EmbeddingIndex index, int[] itemRows) {
        int d = index.dimensions();
        float[] v;
        if (itemRows.length > 0) {
            v = new float[d];
            for (int r : itemRows) {
                float[] item = index.vector(r);
                for (int i = 0; i < d; i++) {
                    v[i] += item[i];
                }
            }
        } else {
            if (q.embedding().length != d) {
                throw WeirException.invalid("embedding has " + q.embedding().length + " values; index " + index.version()
                        + " has " + d + " dimensions");
            }
            v = Arrays.copyOf(q.embedding(), d);
        }
        if (!EmbeddingIndex.normalise(v)) {
            throw WeirException.invalid(itemRows.length > 0 ? "the given items' vectors cancel out; no direction to search"
                    : "embedding must not be all zeros");
        }
        return v;
    }

    private void failAll(WeirException e) {
        List<Pending> rest = new ArrayList<>();
        queue.drainTo(rest);
        for (Pending p : rest) {
            p.future().completeExceptionally(e);
        }
    }

    /** Stops the worker; queries still queued fail UNAVAILABLE. Does not close the store. */
    @Override
    public void close() {
        closed = true;
        Thread w;
        synchronized (this) {
            w = worker;
        }
        if (w != null) {
            w.interrupt();
            try {
                w.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        failAll(WeirException.unavailable("similarity search is shutting down"));
    }
}
