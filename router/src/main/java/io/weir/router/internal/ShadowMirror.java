package io.weir.router.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.InferenceDispatcher;
import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.batcher.Priority;
import io.weir.router.ModelCatalog;
import io.weir.router.Route;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Mirrors requests the primary already answered to the shadow version and compares the two answers.
 *
 * <p>Design: {@link #submit} (any thread, typically an event loop after the response was written) only offers to a
 * bounded queue and returns; a full queue drops the work and counts it, so the primary never waits for the shadow.
 * A fixed set of daemon worker threads owns everything after that: each takes a task, sends the shadow request to the
 * dispatcher, waits for it (at most the shadow timeout; the workers' number bounds the shadow load on the dispatcher),
 * compares scores row by row with the primary's (absolute difference, label agreement under each version's label
 * threshold; a non-finite score on either side makes the comparison a failure), and records the comparison in the meters, the guard's window and the sampled diff log. The primary's
 * request and result are only read. Invariant: every submitted task is counted exactly once as dropped, compared or
 * failed (tasks still queued at close are counted as dropped).
 *
 * <p>Meters, tagged {@code model}, {@code arm=shadow}, {@code version} (the shadow's):
 * {@code weir.shadow.requests} (tag {@code outcome}: {@code dropped}, {@code compared}, or the error code),
 * {@code weir.shadow.score_abs_diff} (per row), {@code weir.shadow.label_rows} (tag {@code agree}),
 * {@code weir.shadow.queue_depth}.
 */
public final class ShadowMirror implements AutoCloseable {
    private static final Logger LOG = Logger.getLogger(ShadowMirror.class.getName());
    private static final int DIFF_SCORES_KEPT = 16;

    /** What one mirrored request came to; {@code failure} null when it was compared. */
    public record Outcome(String requestId, String model, String primaryVersion, String shadowVersion, int rows,
                          double meanAbsDiff, double maxAbsDiff, int labelRows, int labelAgreements, ErrorCode failure,
                          String failureMessage) {
    }

    private record Task(Route route, InferenceRequest primaryRequest, InferenceResult primaryResult) {
    }

    private record MeterKey(String model, String version) {
    }

    private final class Meters {
        final Counter dropped;
        final Counter compared;
        final Map<ErrorCode, Counter> failed = new EnumMap<>(ErrorCode.class);
        final DistributionSummary absDiff;
        final Counter labelAgree;
        final Counter labelDisagree;

        Meters(MeterKey k) {
            dropped = outcome(k, "dropped");
            compared = outcome(k, "compared");
            for (ErrorCode c : ErrorCode.values()) {
                failed.put(c, outcome(k, c.name().toLowerCase(Locale.ROOT)));
            }
            absDiff = DistributionSummary.builder("weir.shadow.score_abs_diff")
                    .description("Per-row |shadow score - primary score|")
                    .tags("model", k.model, "arm", "shadow", "version", k.version).register(meters);
            labelAgree = Counter.builder("weir.shadow.label_rows").tags("model", k.model, "arm", "shadow",
                    "version", k.version, "agree", "true").register(meters);
            labelDisagree = Counter.builder("weir.shadow.label_rows").tags("model", k.model, "arm", "shadow",
                    "version", k.version, "agree", "false").register(meters);
        }

        private Counter outcome(MeterKey k, String outcome) {
            return Counter.builder("weir.shadow.requests").description("Mirrored requests by outcome")
                    .tags("model", k.model, "arm", "shadow", "version", k.version, "outcome", outcome).register(meters);
        }
    }

    private final InferenceDispatcher dispatcher;
    private final ModelCatalog catalog;
    private final RolloutStats stats;
    private final DiffLog diffs;
    private final MeterRegistry meters;
    private final Clock clock;
    private final Duration timeout;
    private final int workers;
    private final BlockingQueue<Task> queue;
    private final Map<MeterKey, Meters> meterCache = new ConcurrentHashMap<>();
    private final List<Consumer<Outcome>> listeners = new CopyOnWriteArrayList<>();
    private final List<Thread> threads = new ArrayList<>();
    private final LongAdder submitted = new LongAdder();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder compared = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private volatile boolean running;

    /**
     * @param capacity tasks that may wait; more are dropped
     * @param workers  shadow requests in flight at most
     * @param timeout  deadline given to each shadow request (and how long a worker waits for it)
     */
    public ShadowMirror(InferenceDispatcher dispatcher, ModelCatalog catalog, RolloutStats stats, DiffLog diffs,
                        MeterRegistry meters, Clock clock, int capacity, int workers, Duration timeout) {
        if (capacity < 1 || workers < 1) {
            throw new IllegalArgumentException("shadow queue capacity and workers must be at least 1");
        }
        this.dispatcher = dispatcher;
        this.catalog = catalog;
        this.stats = stats;
        this.diffs = diffs;
        this.meters = meters;
        this.clock = clock;
        this.timeout = timeout;
        this.workers = workers;
        this.queue = new ArrayBlockingQueue<>(capacity);
        Gauge.builder("weir.shadow.queue_depth", queue, BlockingQueue::size).description("Mirrored requests waiting")
                .tag("arm", "shadow").register(meters);
    }

    public synchronized void start() {
        if (running) {
            return;
        }
        running = true;
        for (int i = 0; i < workers; i++) {
            Thread t = Thread.ofPlatform().daemon().name("weir-shadow-" + i).unstarted(this::work);
            threads.add(t);
            t.start();
        }
    }

    /** Listeners run on a shadow worker after each outcome is recorded; they must be quick. */
    public void onOutcome(Consumer<Outcome> listener) {
        listeners.add(listener);
    }

    /** Queues a mirror of an answered request; false when it was dropped (queue full, or not running). */
    public boolean submit(Route route, InferenceRequest primaryRequest, InferenceResult primaryResult) {
        if (route.shadowVersion() == null) {
            return false;
        }
        submitted.increment();
        if (running && queue.offer(new Task(route, primaryRequest, primaryResult))) {
            return true;
        }
        drop(route);
        return false;
    }

    private void drop(Route route) {
        dropped.increment();
        meters(route.model(), route.shadowVersion()).dropped.increment();
    }

    public long submitted() {
        return submitted.sum();
    }

    public long dropped() {
        return dropped.sum();
    }

    public long compared() {
        return compared.sum();
    }

    public long failed() {
        return failed.sum();
    }

    public int queued() {
        return queue.size();
    }

    private void work() {
        while (running) {
            Task task;
            try {
                task = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            try {
                finish(task, mirror(task));
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "shadow comparison failed for " + task.route(), e);
            }
        }
    }

    private Outcome mirror(Task task) {
        Route route = task.route();
        ModelKey shadowKey = new ModelKey(route.model(), route.shadowVersion());
        InferenceRequest primary = task.primaryRequest();
        long now = dispatcher.ticker().nanos();
        InferenceRequest shadow = new InferenceRequest(shadowKey, primary.inputs(), primary.rows(), now,
                now + timeout.toNanos(), Priority.NORMAL);
        InferenceResult result;
        try {
            result = dispatcher.submit(shadow).get(timeout.toNanos() + TimeUnit.SECONDS.toNanos(1), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return failure(route, ErrorCode.DEADLINE_EXCEEDED, "no shadow answer within " + timeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            return failure(route, Scores.codeOf(e), String.valueOf(e.getCause().getMessage()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return failure(route, ErrorCode.UNAVAILABLE, "shadow worker stopped");
        } catch (RuntimeException e) {
            return failure(route, Scores.codeOf(e), String.valueOf(e.getMessage()));
        }
        ModelConfig primaryConfig = catalog.config(route.key()).orElse(null);
        ModelConfig shadowConfig = catalog.config(shadowKey).orElse(primaryConfig);
        float[] p = Scores.of(primaryConfig, task.primaryResult());
        float[] s = Scores.of(shadowConfig, result);
        if (p == null || s == null) {
            return failure(route, ErrorCode.INTERNAL, "no score output to compare");
        }
        if (p.length != s.length) {
            return failure(route, ErrorCode.INTERNAL, "shadow returned " + s.length + " scores, primary " + p.length);
        }
        for (int i = 0; i < p.length; i++) {
            // one NaN would make the window's summed difference NaN, which no threshold can judge
            if (!Float.isFinite(p[i]) || !Float.isFinite(s[i])) {
                return failure(route, ErrorCode.INTERNAL, "row " + i + " has a non-finite score: shadow " + s[i]
                        + ", primary " + p[i]);
            }
        }
        Meters m = meters(route.model(), route.shadowVersion());
        ModelConfig.Label pl = primaryConfig.label().orElse(null);
        ModelConfig.Label sl = shadowConfig.label().orElse(pl);
        double sum = 0;
        double max = 0;
        int agree = 0;
        for (int i = 0; i < p.length; i++) {
            double d = Math.abs((double) s[i] - p[i]);
            sum += d;
            max = Math.max(max, d);
            m.absDiff.record(d);
            if (pl != null) {
                if (pl.of(p[i]).equals(sl.of(s[i]))) {
                    agree++;
                }
            }
        }
        int labelRows = pl == null ? 0 : p.length;
        m.labelAgree.increment(agree);
        m.labelDisagree.increment(labelRows - agree);
        stats.recordShadow(route.model(), route.shadowVersion(), p.length, sum, labelRows, agree);
        Outcome o = new Outcome(route.requestId(), route.model(), route.version(), route.shadowVersion(), p.length,
                p.length == 0 ? 0 : sum / p.length, max, labelRows, agree, null, null);
        if (diffs.sampled(route.requestId(), agree < labelRows)) {
            diffs.append(diffEntry(o).put("primary_scores", head(p)).put("shadow_scores", head(s)));
        }
        return o;
    }

    private Outcome failure(Route route, ErrorCode code, String message) {
        stats.recordShadowFailure(route.model(), route.shadowVersion());
        Outcome o = new Outcome(route.requestId(), route.model(), route.version(), route.shadowVersion(), 0, Double.NaN,
                Double.NaN, 0, 0, code, message);
        if (diffs.sampled(route.requestId(), false)) {
            diffs.append(diffEntry(o));
        }
        return o;
    }

    private void finish(Task task, Outcome o) {
        Meters m = meters(task.route().model(), task.route().shadowVersion());
        if (o.failure() == null) {
            compared.increment();
            m.compared.increment();
        } else {
            failed.increment();
            m.failed.get(o.failure()).increment();
        }
        for (Consumer<Outcome> l : listeners) {
            l.accept(o);
        }
    }

    private JsonObject diffEntry(Outcome o) {
        JsonObject j = new JsonObject().put("request_id", o.requestId()).put("at", clock.instant().toString())
                .put("model", o.model()).put("primary_version", o.primaryVersion())
                .put("shadow_version", o.shadowVersion());
        if (o.failure() != null) {
            return j.put("failure", o.failure().name()).put("message", o.failureMessage());
        }
        return j.put("rows", o.rows()).put("mean_abs_diff", o.meanAbsDiff()).put("max_abs_diff", o.maxAbsDiff())
                .put("label_rows", o.labelRows()).put("label_agreements", o.labelAgreements());
    }

    private static JsonArray head(float[] scores) {
        JsonArray a = new JsonArray();
        for (int i = 0; i < Math.min(scores.length, DIFF_SCORES_KEPT); i++) {
            a.add(scores[i]);
        }
        return a;
    }

    private Meters meters(String model, String version) {
        return meterCache.computeIfAbsent(new MeterKey(model, version), Meters::new);
    }

    /** Stops the workers; queued work is counted as dropped. A shadow request already sent finishes or times out unseen. */
    @Override
    public synchronized void close() {
        running = false;
        threads.forEach(Thread::interrupt);
        threads.clear();
        List<Task> left = new ArrayList<>();
        queue.drainTo(left);
        left.forEach(t -> drop(t.route()));
    }
}
