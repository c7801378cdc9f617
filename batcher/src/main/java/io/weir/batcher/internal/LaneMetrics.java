package io.weir.batcher.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.weir.batcher.LatencySnapshot;
import io.weir.batcher.LatencySnapshot.Stage;
import io.weir.batcher.policy.BatchPolicy.Flush;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Ticker;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.SingleWriterRecorder;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * One model version's metrics, in Micrometer (scraped as Prometheus) and in HdrHistogram recorders whose
 * interval percentiles the gateway's admin API serves ({@code GET /admin/models/<model>/latency}) through
 * {@link #snapshot}.
 *
 * <p>Coordinated omission: queue wait is measured from the request's enqueue time, stamped by the caller on the
 * dispatcher's ticker before admission, to the start of its batch's compute. A stalled batching thread or a
 * saturated pool therefore shows up as queue wait of every request it delayed, not as one slow sample; load generators
 * must use open injection (arrivals independent of responses) for the same reason.
 *
 * <p>Threads: meters are thread-safe and recorded from workers; meters are created lazily per backend
 * (computeIfAbsent) and all removed from the registry on {@link #close()}; any made later stay out of it. Each worker
 * records into its own recorders ({@link ThreadRecorders}: one writer each, no contention between workers).
 * {@link #snapshot} is synchronized: it rolls every thread's recorders at most once per interval, adds them up, and
 * otherwise returns the last roll, so several readers see the same interval instead of stealing samples from each
 * other.
 */
public final class LaneMetrics implements AutoCloseable {
    private final ModelKey key;
    private final MeterRegistry registry;
    private final Ticker ticker;
    private final long intervalNanos;
    private final Tags tags;
    private final List<Meter> meters = new CopyOnWriteArrayList<>();
    private final Map<String, BackendMeters> byBackend = new ConcurrentHashMap<>();
    private final Map<String, Counter> counters = new ConcurrentHashMap<>();
    /** Per policy name, per reason: {batches, requests}. Written by the batching thread only; read by the registry. */
    private final Map<String, EnumMap<Flush.Reason, Counter[]>> flushes = new ConcurrentHashMap<>();
    private boolean closed;
    private MeterRegistry detached;
    private long lastRoll = Long.MIN_VALUE;
    /** Where the recorders' current interval began: the last roll, or this lane's creation before the first. */
    private long intervalStart;
    private List<LatencySnapshot> last = List.of();

    public LaneMetrics(ModelKey key, MeterRegistry registry, Ticker ticker, long intervalNanos) {
        this.key = key;
        this.registry = registry;
        this.ticker = ticker;
        this.intervalNanos = intervalNanos;
        this.intervalStart = ticker.nanos();
        this.tags = Tags.of("model", key.model(), "version", key.version());
    }

    final class BackendMeters {
        final Timer queueWait;
        final Timer compute;
        final DistributionSummary batchRows;
        final DistributionSummary batchRequests;
        /** Each recording thread's recorders, by thread id; a thread that ended is dropped at the roll after it. */
        private final Map<Long, ThreadRecorders> writers = new ConcurrentHashMap<>();

        BackendMeters(String backend) {
            Tags t = tags.and("backend", backend);
            queueWait = register(r -> histogram(Timer.builder("weir.batcher.queue.wait")
                    .description("Enqueue to compute start, per request")).tags(t).register(r));
            compute = register(r -> histogram(Timer.builder("weir.batcher.compute")
                    .description("Backend call, per batch")).tags(t).register(r));
            batchRows = register(r -> DistributionSummary.builder("weir.batcher.batch.rows").description("Rows per batch")
                    .baseUnit("rows").tags(t).register(r));
            batchRequests = register(r -> DistributionSummary.builder("weir.batcher.batch.requests")
                    .description("Requests per batch").baseUnit("requests").tags(t).register(r));
        }

        /** The calling thread's recorders (made on its first value). */
        ThreadRecorders recorders() {
            Thread self = Thread.currentThread();
            ThreadRecorders mine = writers.get(self.threadId());
            if (mine == null) {
                mine = writers.computeIfAbsent(self.threadId(), id -> new ThreadRecorders(self));
            }
            return mine;
        }

        /** Every thread's queue, compute and total since the last roll, added up. */
        Histogram[] roll() {
            Histogram queue = emptyInterval();
            Histogram compute = emptyInterval();
            Histogram total = emptyInterval();
            for (var it = writers.values().iterator(); it.hasNext(); ) {
                ThreadRecorders w = it.next();
                boolean ended = !w.writer.isAlive();   // read first: what it recorded before it ended is in this roll
                queue.add(w.queue.getIntervalHistogram());
                compute.add(w.compute.getIntervalHistogram());
                total.add(w.total.getIntervalHistogram());
                if (ended) {
                    it.remove();
                }
            }
            return new Histogram[] {queue, compute, total};
        }
    }

    /**
     * One recording thread's interval recorders for one backend. Workers record each request's queue wait and total as
     * they answer its batch. With one concurrent {@link Recorder} a stage, shared by the workers, two answering at once
     * contended on its phaser and counts: 0.44-0.9 µs a value where one thread alone takes 36 ns (JMH,
     * BatcherMetricsBenchmark), and the two per request cost about 0.4 µs a request through the whole batcher
     * (BatcherBenchmark; docs/PERF.md, "What the batcher's latency histograms and recorders cost"). So each thread writes its own {@link SingleWriterRecorder}s, which no
     * other thread touches until a roll adds them up. Their range is fixed, 1 µs to an hour at 2 significant digits (a
     * value's bucket is under 1% wide), so that a set is small (about 170 KB) where the shared auto-resizing recorders
     * at 3 digits grew to about 1 MB a lane: a lane keeps one set per thread that recorded for it, its CPU or device
     * workers.
     */
    static final class ThreadRecorders {
        static final long LOWEST_NANOS = 1_000;
        static final long HIGHEST_NANOS = 3_600_000_000_000L;
        final Thread writer;
        final SingleWriterRecorder queue = new SingleWriterRecorder(LOWEST_NANOS, HIGHEST_NANOS, DIGITS);
        final SingleWriterRecorder compute = new SingleWriterRecorder(LOWEST_NANOS, HIGHEST_NANOS, DIGITS);
        final SingleWriterRecorder total = new SingleWriterRecorder(LOWEST_NANOS, HIGHEST_NANOS, DIGITS);

        ThreadRecorders(Thread writer) {
            this.writer = writer;
        }

        /** A value in range: negative clock readings as 0, anything past an hour as an hour. */
        static long clamp(long nanos) {
            return Math.min(Math.max(0, nanos), HIGHEST_NANOS);
        }
    }

    private static final int DIGITS = 2;

    private static Histogram emptyInterval() {
        return new Histogram(ThreadRecorders.LOWEST_NANOS, ThreadRecorders.HIGHEST_NANOS, DIGITS);
    }

    /**
     * Buckets, so that Prometheus' {@code histogram_quantile} gives the p95 queue wait and compute across replicas (the
     * recorders' percentiles are one replica's): 10 µs, below which no batcher wait matters against a budget, to 10 s.
     * Micrometer's own bucket ladder, about a quarter apart, as the HTTP timer's.
     */
    private static Timer.Builder histogram(Timer.Builder b) {
        return b.publishPercentileHistogram().minimumExpectedValue(Duration.ofNanos(10_000))
                .maximumExpectedValue(Duration.ofSeconds(10));
    }

    /**
     * Makes a meter in the registry and keeps it to remove on {@link #close()}; after the close (a batch that ran on
     * after an unload) in a private registry instead, so that an unloaded version leaves no series behind and never
     * takes over, and then removes, a meter of the same name that a reload of the version registered meanwhile.
     * Meters are made on first use only, so the lock costs nothing on the request path.
     */
    private synchronized <M extends Meter> M register(Function<MeterRegistry, M> make) {
        if (closed) {
            if (detached == null) {
                detached = new SimpleMeterRegistry();
            }
            return make.apply(detached);
        }
        M meter = make.apply(registry);
        meters.add(meter);
        return meter;
    }

    BackendMeters backend(String backend) {
        return byBackend.computeIfAbsent(backend, BackendMeters::new);
    }

    /** Threads whose recorders {@code backend} keeps (tests: an ended one is dropped at the roll after it ended). */
    int recordingThreads(String backend) {
        BackendMeters m = byBackend.get(backend);
        return m == null ? 0 : m.writers.size();
    }

    void gauge(String name, String description, Supplier<Number> value) {
        register(r -> Gauge.builder(name, value).description(description).tags(tags).register(r));
    }

    private Counter counter(String name, String description, String... extraTags) {
        String id = name + String.join("|", extraTags);
        return counters.computeIfAbsent(id, k -> register(r -> Counter.builder(name).description(description)
                .tags(tags.and(extraTags)).register(r)));
    }

    /** {@code reason}: ring_full, predicted_wait, oversize, invalid. */
    public void rejected(String reason) {
        counter("weir.batcher.rejections", "Requests refused at admission", "reason", reason).increment();
    }

    /** {@code stage}: admission, queue, before_compute. */
    public void timedOut(String stage) {
        counter("weir.batcher.timeouts", "Requests answered DEADLINE_EXCEEDED", "stage", stage).increment();
    }

    /** {@code reason}: failure, saturated, unhealthy. */
    void fellBack(String from, String to, String reason) {
        counter("weir.batcher.fallbacks", "Batches moved from a preferred backend to another", "from", from, "to", to,
                "reason", reason).increment();
    }

    void failed(String backend) {
        counter("weir.batcher.failures", "Batches that failed on the last backend tried", "backend", backend).increment();
    }

    /**
     * A batch of {@code requests} started because of {@code reason}: {@code weir.batcher.flushes} and
     * {@code weir.batcher.flushed.requests}, tagged with the policy and the reason (their ratio is the mean batch a
     * reason ends). Batching thread only; allocates nothing once a policy's reason has been seen.
     */
    void flushed(String policy, Flush.Reason reason, int requests) {
        EnumMap<Flush.Reason, Counter[]> byReason = flushes.computeIfAbsent(policy, p -> new EnumMap<>(Flush.Reason.class));
        Counter[] pair = byReason.get(reason);
        if (pair == null) {
            pair = new Counter[] {
                    counter("weir.batcher.flushes", "Batches started, by the policy's reason", "policy", policy,
                            "reason", reason.tag()),
                    counter("weir.batcher.flushed.requests", "Requests in the batches started, by the policy's reason",
                            "policy", policy, "reason", reason.tag())};
            byReason.put(reason, pair);
        }
        pair[0].increment();
        pair[1].increment(requests);
    }

    void batch(String backend, int rows, int requests, long computeNanos) {
        BackendMeters m = backend(backend);
        m.batchRows.record(rows);
        m.batchRequests.record(requests);
        m.compute.record(computeNanos, TimeUnit.NANOSECONDS);
        m.recorders().compute.recordValue(ThreadRecorders.clamp(computeNanos));
    }

    void request(String backend, long queueNanos, long totalNanos) {
        BackendMeters m = backend(backend);
        m.queueWait.record(queueNanos, TimeUnit.NANOSECONDS);
        ThreadRecorders mine = m.recorders();
        mine.queue.recordValue(ThreadRecorders.clamp(queueNanos));
        mine.total.recordValue(ThreadRecorders.clamp(totalNanos));
    }

    /** Percentiles of the last completed interval (rolled at most once per interval). */
    public synchronized List<LatencySnapshot> snapshot() {
        long now = ticker.nanos();
        if (lastRoll != Long.MIN_VALUE && now - lastRoll < intervalNanos) {
            return last;
        }
        lastRoll = now;
        double windowMs = ms(now - intervalStart);
        intervalStart = now;
        List<LatencySnapshot> out = new ArrayList<>();
        byBackend.forEach((backend, m) -> {
            Histogram[] stages = m.roll();
            out.add(of(backend, Stage.QUEUE, windowMs, stages[0]));
            out.add(of(backend, Stage.COMPUTE, windowMs, stages[1]));
            out.add(of(backend, Stage.TOTAL, windowMs, stages[2]));
        });
        last = List.copyOf(out);
        return last;
    }

    private LatencySnapshot of(String backend, Stage stage, double windowMs, Histogram h) {
        return new LatencySnapshot(key, backend, stage, windowMs, h.getTotalCount(), ms(h.getValueAtPercentile(50)),
                ms(h.getValueAtPercentile(95)), ms(h.getValueAtPercentile(99)), ms(h.getMaxValue()));
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    @Override
    public synchronized void close() {
        closed = true;
        meters.forEach(registry::remove);
        meters.clear();
    }
}
