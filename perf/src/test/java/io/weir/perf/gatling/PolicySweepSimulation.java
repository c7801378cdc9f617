package io.weir.perf.gatling;

import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.PopulationBuilder;
import io.gatling.javaapi.core.Session;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.atOnceUsers;
import static io.gatling.javaapi.core.CoreDsl.constantConcurrentUsers;
import static io.gatling.javaapi.core.CoreDsl.constantUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.rampUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.responseTimeInMillis;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

/**
 * One model under one batching policy at a list of offered rates: the policy sweep of docs/PERF.md, "## Batching
 * policies under load". Driven by {@code perf/sweep/run-sweep.sh}, which starts a gateway with the policy under test
 * and runs this simulation once per model.
 *
 * <p>Open model: each rate is a scenario injecting {@code constantUsersPerSec(rate).randomized()} (Poisson-like
 * arrivals, independent of responses) for warm-up + measurement seconds; the rates run one after another
 * ({@code andThen}, so the next starts once the previous one's requests are answered). Requests that start in the
 * warm-up part are sent but not counted. For each measured request the simulation keeps Gatling's response time
 * (ms, {@code responseTimeInMillis}), a finer time taken around the request in the virtual user (ns: from the user's
 * first step, not from its scheduled arrival, which Gatling does not expose; when Gatling itself falls behind its
 * schedule under overload, users start late and that lag is not in the latency, i.e. coordinated omission;
 * {@link BoundedPoolLoad} times from the scheduled arrival instead) and the HTTP
 * status; at the end it appends one CSV row per rate: sent, OK (200), 429, 504, other failures, goodput, and the
 * 50/95/99th percentiles and max over OK responses and over all responses. It also reads the gateway's
 * {@code weir_batcher_*} metrics when each rate starts and when its arrivals stop (warm-up included), so the row
 * carries the mean batch size and mean compute per batch that the rate produced, and reads /proc for the CPU time the server
 * ({@code weir.sweep.serverPid}) and this load generator spent per request and for how busy the whole machine was. The
 * column {@code canary_ms} is {@link MachineCanary}'s median over the window: how fast the machine itself was; the last,
 * {@code open_connections}, the most client connections the gateway had open at a window's end
 * ({@code weir_http_connections}): Gatling's pool opens one for every request that finds none idle, so a count far
 * above rate x latency marks a connection storm, which outlives the window that caused it. The columns after it,
 * {@code server_ok_p95_ms} and {@code server_ok_p99_ms}, are the OK answers' percentiles as the gateway timed them
 * ({@code weir_http_requests} of the model's routes with code OK: from the moment its router took the request to the
 * end of its answer, so without the time before a loop read it or in the client), from the histogram's bucket counts
 * between the gateway-metrics scrapes (a rate's first arrival to its arrivals' end, so the warm-up too; in a
 * round-robin, a slice's switch to its tail, so an answer in flight at a switch counts in the next slice), interpolated
 * within a bucket as Prometheus' {@code histogram_quantile} does. The buckets are 10-35% wide (67.1, 89.5 and 111.8
 * ms around 80), so the columns tell a tail well inside the budget from one near or past it, not 90 ms from 100; the
 * gap between them and the client's percentiles is time the gateway did not see. The last,
 * {@code server_queue_p95_ms}, is the same reading of the batcher's queue-wait buckets (enqueue to compute start, all
 * the model's versions and backends): the share of the tail a batching policy decides, apart from the HTTP path, GC
 * and the loops' backlog, which every policy shares.
 *
 * <p>Extra modes: {@code weir.sweep.primeRate}/{@code primeSeconds} send an unrecorded first phase (the server's
 * JIT warms before the first measured rate, so the lowest rate is not penalised for going first);
 * {@code weir.sweep.closedUsers} replaces the open rates by a closed-loop probe (that many users, each sending its next
 * request as soon as the previous one is answered) to find a model's capacity; and {@code weir.sweep.policyFile}
 * interleaves policies: each rate is measured once per listed policy on the same server, the policy switched through
 * the admin API before each measurement (see {@link #POLICY_FILE}).
 *
 * <p>System properties: {@code weir.baseUrl} (loopback only), {@code weir.sweep.model} ({@code ranker} or
 * {@code moderation}), {@code weir.sweep.policy} (label written to the CSV), {@code weir.sweep.rates} (comma list of
 * requests/s), {@code weir.sweep.warmupSeconds}, {@code weir.sweep.measureSeconds}, {@code weir.sweep.candidates}
 * (ranker, default 50), {@code weir.sweep.out} (CSV file, appended; header written when new).
 */
public class PolicySweepSimulation extends Simulation {
    static final String BASE = System.getProperty("weir.baseUrl", "http://127.0.0.1:8080");
    static final String MODEL = System.getProperty("weir.sweep.model", "moderation");
    private static final String POLICY = System.getProperty("weir.sweep.policy", "unlabelled");
    /**
     * A sanity bound on an offered rate, not a capability: twice the clean rig's moderation ceiling (about 60000 req/s
     * on two cores) must pass (the old bound of 100000 failed run 122's 2x at the Gatling run's start).
     */
    static final double MAX_RATE = 400_000;
    static final double[] RATES = Arrays.stream(System.getProperty("weir.sweep.rates", "50,100").split(","))
            .map(String::trim).filter(s -> !s.isEmpty()).mapToDouble(Double::parseDouble).toArray();
    static final int WARMUP_S = Integer.getInteger("weir.sweep.warmupSeconds", 3);
    static final int MEASURE_S = Integer.getInteger("weir.sweep.measureSeconds", 8);
    private static final int CANDIDATES = Integer.getInteger("weir.sweep.candidates", 50);
    private static final Path OUT = Path.of(System.getProperty("weir.sweep.out", "target/policy-sweep.csv"));
    /** Closed-loop probe instead of open rates: this many users, each sending its next request when answered. */
    private static final int CLOSED_USERS = Integer.getInteger("weir.sweep.closedUsers", 0);
    /**
     * An unrecorded first phase, a ramp from a tenth of this rate to this rate, that warms both JVMs' JIT before the
     * first measured rate (0 s: none). Without it the first rate is measured while C2 compiles in the server and in
     * Gatling on the same two cores, and it is the only one that melts down.
     */
    static final double PRIME_RATE = Double.parseDouble(System.getProperty("weir.sweep.primeRate", "0"));
    static final int PRIME_S = Integer.getInteger("weir.sweep.primeSeconds", 0);
    /**
     * Connections to open before the prime (0: none): that many requests sent at once, so that Gatling's shared pool,
     * which cannot be bounded and grows only when a request finds no idle connection, starts with this many. A
     * stall of T seconds at rate R needs R·T connections; with fewer, every request beyond them opens a connection
     * at once, and thousands of connects on the same two cores turn the stall into a collapse (docs/PERF.md, "The
     * load generator's connection pool"). The run script keeps idle connections long enough for the pool to last
     * the run. Measured at moderation's 12500 req/s: 6000 warm connections prevented the storms, but the gateway
     * spent more CPU per request and shed 6-52% in every round (docs/PERF.md, "A warm connection pool for Gatling"),
     * so the sweep does not use it.
     */
    static final int POOL_CONNECTIONS = Integer.getInteger("weir.sweep.poolConnections", 0);
    /**
     * Interleaved comparison (empty: one policy per run, the server's own): a file of {@code label<TAB>policy JSON}
     * lines. Every offered rate is then measured once per policy on the same warm server, the policy switched before
     * each measurement through {@code PUT /admin/models/<model>/batching}, in an order shuffled per rate with
     * {@code weir.sweep.seed}. Policies compared a few seconds apart on one JVM share its JIT, heap and the machine's
     * slow spells, which separate launches do not (docs/PERF.md, "Slow spells of the machine").
     */
    static final String POLICY_FILE = System.getProperty("weir.sweep.policyFile", "");
    private static final long SEED = Long.getLong("weir.sweep.seed", 1L);
    /**
     * Pause between interleaved measurements: short after a clean one; after one that lost more than 1% of its requests
     * or answered one after a second or more, long enough for the gateway to drain its backlog and for Gatling's idle
     * connections (3 s) to close, so that one policy's collapse does not become the next one's.
     */
    private static final Duration SETTLE = Duration.ofSeconds(1);
    private static final Duration SETTLE_AFTER_TROUBLE = Duration.ofSeconds(5);
    /**
     * Round-robin interleaving (0: off, one block of warm-up + measurement per policy and rate). With {@code R > 0}
     * each rate is one uninterrupted open-model load of warm-up + {@code R}·policies slices of
     * {@code weir.sweep.sliceMillis}; the policy is switched at every slice boundary, in a seeded order shuffled per
     * round, and a request counts for the policy of the slice it arrived in unless it arrived in the slice's first
     * {@code guardMillis} (the previous policy's queue drains, the new one takes over) or last {@code tailMillis}
     * (it may be batched by the next policy). A slow spell of the machine then lands on every policy's slices alike.
     */
    static final int ROUNDS = Integer.getInteger("weir.sweep.rounds", 0);
    static final int SLICE_MS = Integer.getInteger("weir.sweep.sliceMillis", 3000);
    static final int GUARD_MS = Integer.getInteger("weir.sweep.guardMillis", 750);
    /** Round-robin: seconds without load between one rate and the next (docs/PERF.md, "The drift under continuous load"). */
    static final int RATE_GAP_S = Integer.getInteger("weir.sweep.rateGapSeconds", 0);
    static final int TAIL_MS = Integer.getInteger("weir.sweep.tailMillis", 100);
    /** The gateway's process id, for its CPU time per request (0: not reported). */
    private static final long SERVER_PID = Long.getLong("weir.sweep.serverPid", 0L);

    private static final String CONNECTIONS = "weir_http_connections";
    /** The gateway's request timer's buckets, summed over the model's routes, versions and arms, for code OK. */
    private static final String SERVER_BUCKETS = "weir_http_requests_seconds_bucket{";
    /** Key prefix of those sums in a probe's metrics: the bucket's upper bound ({@code le}, seconds) follows. */
    static final String SERVER_OK_LE = "server_ok_le=";
    /** The batcher's queue-wait timer's buckets, summed over the model's versions and backends. */
    private static final String QUEUE_BUCKETS = "weir_batcher_queue_wait_seconds_bucket{";
    /** Key prefix of those sums in a probe's metrics, as {@link #SERVER_OK_LE}. */
    static final String QUEUE_LE = "queue_le=";
    static final String HEADER = "model,policy,offered_rps,closed_users,measure_s,sent,ok,ko_429,ko_504,ko_other,goodput_rps,"
            + "ok_p50_ms,ok_p95_ms,ok_p99_ms,ok_max_ms,all_p95_ms,all_p99_ms,"
            + "fine_ok_p50_ms,fine_ok_p95_ms,fine_ok_p99_ms,fine_all_p95_ms,"
            + "batches,mean_batch_rows,mean_batch_requests,mean_compute_ms,mean_queue_wait_ms,"
            + "server_cpu_ms_per_req,generator_cpu_ms_per_req,machine_busy_cores,other_processes_cores,canary_ms,"
            + "open_connections,server_ok_p95_ms,server_ok_p99_ms,server_queue_p95_ms";

    static {
        if (!URI.create(BASE).getHost().matches("127\\.\\d+\\.\\d+\\.\\d+|localhost|\\[::1\\]")) {
            throw new IllegalArgumentException("load tests target loopback only, not " + BASE);
        }
        if (!MODEL.equals("ranker") && !MODEL.equals("moderation")) {
            throw new IllegalArgumentException("weir.sweep.model must be ranker or moderation, was " + MODEL);
        }
        if (CLOSED_USERS == 0 && (RATES.length == 0 || Arrays.stream(RATES).anyMatch(r -> !(r > 0) || r > MAX_RATE))) {
            throw new IllegalArgumentException("weir.sweep.rates must be a list of rates in (0, " + (long) MAX_RATE + "]");
        }
        if (CLOSED_USERS < 0 || CLOSED_USERS > 1024 || PRIME_S < 0 || PRIME_S > 120 || PRIME_RATE < 0 || PRIME_RATE > MAX_RATE) {
            throw new IllegalArgumentException("closedUsers must be in [0, 1024], primeSeconds in [0, 120], primeRate in [0, " + (long) MAX_RATE + "]");
        }
        if (POOL_CONNECTIONS < 0 || POOL_CONNECTIONS > 16_384) {
            throw new IllegalArgumentException("poolConnections must be in [0, 16384]");
        }
        if (WARMUP_S < 0 || MEASURE_S < 1 || WARMUP_S + MEASURE_S > 120) {
            throw new IllegalArgumentException("warm-up + measurement must be at most 120 s per rate");
        }
        if (ROUNDS < 0 || ROUNDS > 20 || GUARD_MS < 0 || TAIL_MS < 0 || GUARD_MS + TAIL_MS + 500 > SLICE_MS || SLICE_MS > 60_000
                || (ROUNDS > 0 && POLICY_FILE.isEmpty())) {
            throw new IllegalArgumentException("rounds must be in [0, 20] and need a policyFile; a slice must be at most 60 s"
                    + " and keep 500 ms or more besides its guard and tail");
        }
        if (RATE_GAP_S < 0 || RATE_GAP_S > 600 || (RATE_GAP_S > 0 && ROUNDS == 0)) {
            throw new IllegalArgumentException("rateGapSeconds must be in [0, 600] and needs rounds");
        }
        if (!POLICY_FILE.isEmpty() && (CLOSED_USERS > 0 || POOL_CONNECTIONS > 0)) {
            throw new IllegalArgumentException("an interleaved run (policyFile) takes open rates and no warm pool");
        }
    }

    /** The policies of an interleaved run, label to JSON, in file order; empty without {@code weir.sweep.policyFile}. */
    static final Map<String, String> INTERLEAVED = InterleavedPolicies.read(POLICY_FILE);

    /**
     * How fast the machine was in each measured window. Declared after the checks above, so that a rejected
     * configuration starts no thread; it then runs from the first rate to the end of the load.
     */
    static final MachineCanary CANARY = MachineCanary.start();

    private static final String[] CATEGORIES = {"books", "electronics", "garden", "toys", "fashion", "sports", "music", "food"};
    private static final String[] WORDS = {"great", "product", "thanks", "awful", "idiot", "love", "hate", "stupid",
            "nice", "help", "shipping", "arrived", "broken", "quality", "recommend", "never", "again", "perfect"};

    /** Precomputed bodies, so the load generator (on the same two cores as the server) does little work per request. */
    private static final String[] BODIES = bodies(MODEL, 1024, new Random(42));

    /** The route the sweep loads for {@code model}: the ranker's scoring endpoint, else moderation. */
    static String path(String model) {
        return model.equals("ranker") ? "/v1/rank:score" : "/v1/moderate";
    }

    static String[] bodies(String model, int n, Random random) {
        String[] out = new String[n];
        for (int k = 0; k < n; k++) {
            StringBuilder b = new StringBuilder(4096);
            if (model.equals("ranker")) {
                b.append("{\"user_id\":\"u-").append(random.nextInt(5000))
                        .append("\",\"context\":{\"locale\":\"en-US\",\"ts\":\"2026-11-26T10:15:00Z\"},\"candidates\":[");
                for (int i = 0; i < CANDIDATES; i++) {
                    if (i > 0) {
                        b.append(',');
                    }
                    b.append("{\"item_id\":\"i-").append(random.nextInt(100_000)).append("\",\"features\":{\"price\":")
                            .append(String.format(Locale.ROOT, "%.2f", 1 + random.nextDouble() * 200))
                            .append(",\"category\":\"").append(CATEGORIES[random.nextInt(CATEGORIES.length)]).append("\"}}");
                }
                b.append("]}");
            } else {
                StringBuilder text = new StringBuilder();
                for (int w = 3 + random.nextInt(30); w > 0 && text.length() < 280; w--) {
                    text.append(WORDS[random.nextInt(WORDS.length)]).append(' ');
                }
                b.append("{\"text\":\"").append(text.toString().trim()).append("\"}");
            }
            out[k] = b.toString();
        }
        return out;
    }

    /** What one rate produced; filled by virtual users (any Gatling thread), read in {@link #after()}. */
    static final class Step {
        final double rate;
        final boolean recorded;
        volatile String policy = POLICY;   // the CSV label; in interleaved runs the policy switched to before the step
        int failedSwitches;               // round-robin: this policy's slices whose switch the gateway did not acknowledge
        final AtomicLong startNanos = new AtomicLong();
        final List<long[]> samples = new ArrayList<>();   // {status, gatlingMs, fineNanos, arrivalNanos (the user's start)}
        final List<Window> slices = new ArrayList<>();   // round-robin: this policy's measured slices
        /** Round-robin: the sum of this policy's slices' counting spans (ns); -1 for one window of MEASURE_S. */
        long countedNanos = -1;
        volatile Probe atBegin = Probe.NONE;      // the rate's first arrival (gateway metrics read here)
        volatile Probe atStart = Probe.NONE;      // start of the measurement window (CPU ticks only)
        volatile Probe atEnd = Probe.NONE;        // end of the window, arrivals stopping (both)

        Step(double rate, boolean recorded) {
            this.rate = rate;
            this.recorded = recorded;
        }

        Step(double rate, boolean recorded, String policy) {
            this(rate, recorded);
            this.policy = policy;
        }

        /** Share of the measured requests not answered 200, and the slowest answer in ms; [0, 0] when none. */
        synchronized double[] failureShareAndMaxMs() {
            long bad = samples.stream().filter(x -> x[0] != 200).count();
            long max = samples.stream().mapToLong(x -> x[1]).max().orElse(0);
            return new double[] {samples.isEmpty() ? 0 : bad / (double) samples.size(), max};
        }

        synchronized void add(long status, long gatlingMs, long fineNanos) {
            add(status, gatlingMs, fineNanos, 0);
        }

        synchronized void add(long status, long gatlingMs, long fineNanos, long arrivalNanos) {
            samples.add(new long[] {status, gatlingMs, fineNanos, arrivalNanos});
        }

        synchronized List<long[]> snapshot() {
            return List.copyOf(samples);
        }

        /**
         * The seconds in which this step's requests were counted: {@link #MEASURE_S}, or under round-robin the sum of
         * its slices' real counting spans ({@link InterleavedPolicies#countingNanos}). Goodput and CPU per request are
         * taken over this, so a slice shortened by a late switch acknowledgement does not read as lost goodput.
         */
        double measureSeconds() {
            return countedNanos < 0 ? MEASURE_S : countedNanos / 1e9;
        }

        /** What the row is computed over: the round-robin slices, or the one measured window. */
        synchronized List<Window> windows() {
            return slices.isEmpty() ? List.of(new Window(atStart, atEnd, atBegin, atEnd)) : List.copyOf(slices);
        }
    }

    /**
     * One offered rate under round-robin interleaving ({@link #ROUNDS}). Design note: virtual users (any Gatling
     * thread) add every request of the measured span to {@code raw} with its arrival time; the switcher thread alone
     * writes {@code switchSent}/{@code switchDone}, the scraper thread alone the probes; {@link #finish()} runs in
     * {@code after()}, once both executors have stopped, and attributes each request to the policy that was in force
     * from its arrival: counted for slice k when it arrived at least the guard after k's switch was acknowledged and at
     * least the tail before k+1's switch was sent. A late or failed switch therefore moves or drops requests instead of
     * crediting them to the wrong policy.
     */
    static final class RoundRobin {
        final double rate;
        final List<String> slicePolicies;
        final Map<String, Step> steps = new LinkedHashMap<>();
        final Step raw;
        final AtomicLong startNanos = new AtomicLong();
        final long[] switchSent;
        final long[] switchDone;
        final Probe[] boundaries;
        final Probe[] starts;
        final Probe[] ends;

        RoundRobin(double rate, List<String> slicePolicies, List<String> labels) {
            this.rate = rate;
            this.slicePolicies = List.copyOf(slicePolicies);
            labels.forEach(label -> {
                Step step = new Step(rate, true, label);
                step.countedNanos = 0;   // filled in by finish(), slice by slice
                steps.put(label, step);
            });
            this.raw = new Step(rate, true, "raw");
            int n = slicePolicies.size();
            switchSent = new long[n];
            switchDone = new long[n];
            Arrays.fill(switchDone, -1);
            boundaries = new Probe[n + 1];
            starts = new Probe[n];
            ends = new Probe[n];
        }

        long spanStart() {
            return startNanos.get() + WARMUP_S * 1_000_000_000L;
        }

        long spanEnd() {
            return spanStart() + slicePolicies.size() * SLICE_MS * 1_000_000L;
        }

        Step stepFor(long now, ScheduledExecutorService switcher, ScheduledExecutorService scraper) {
            if (startNanos.compareAndSet(0, now)) {
                start(switcher, scraper);
            }
            return now >= spanStart() && now < spanEnd() ? raw : null;
        }

        private void start(ScheduledExecutorService switcher, ScheduledExecutorService scraper) {
            int n = slicePolicies.size();
            for (int k = 0; k < n; k++) {
                int slice = k;
                long at = WARMUP_S * 1000L + (long) k * SLICE_MS;   // slice 0's policy also runs the warm-up
                switcher.schedule(() -> {
                    switchSent[slice] = System.nanoTime();
                    if (switchPolicy(slicePolicies.get(slice))) {
                        switchDone[slice] = System.nanoTime();
                    }
                }, slice == 0 ? 0 : at, TimeUnit.MILLISECONDS);
                scraper.schedule(() -> boundaries[slice] = probe(true), at, TimeUnit.MILLISECONDS);
                scraper.schedule(() -> starts[slice] = probe(false), at + GUARD_MS, TimeUnit.MILLISECONDS);
                scraper.schedule(() -> ends[slice] = probe(false), at + SLICE_MS - TAIL_MS, TimeUnit.MILLISECONDS);
            }
            scraper.schedule(() -> boundaries[n] = probe(true), WARMUP_S * 1000L + (long) n * SLICE_MS, TimeUnit.MILLISECONDS);
        }

        /** Attributes the raw samples and windows to the policies' steps (see the design note). */
        void finish() {
            int n = slicePolicies.size();
            long guard = GUARD_MS * 1_000_000L;
            long tail = TAIL_MS * 1_000_000L;
            int dropped = 0;
            // Slice 0's policy was switched to before the warm-up; its count starts like every slice's, a guard after
            // the measured span begins, so that no slice is longer than the others.
            long[] acknowledged = switchDone.clone();
            if (acknowledged[0] >= 0) {
                acknowledged[0] = Math.max(acknowledged[0], spanStart());
            }
            List<List<long[]>> bySlice = new ArrayList<>();
            for (int k = 0; k < n; k++) {
                bySlice.add(new ArrayList<>());
            }
            for (long[] x : raw.snapshot()) {
                int slice = InterleavedPolicies.sliceInForce(x[3], switchSent, acknowledged, spanEnd(), guard, tail);
                if (slice < 0) {
                    dropped++;
                } else {
                    steps.get(slicePolicies.get(slice)).add(x[0], x[1], x[2], x[3]);
                    bySlice.get(slice).add(x);
                }
            }
            StringBuilder timing = new StringBuilder();
            for (int k = 0; k < n; k++) {
                Step step = steps.get(slicePolicies.get(k));
                long counting = InterleavedPolicies.countingNanos(k, switchSent, acknowledged, spanEnd(), guard, tail);
                step.countedNanos += counting;
                if (switchDone[k] < 0) {
                    step.failedSwitches++;
                } else if (starts[k] != null && ends[k] != null && boundaries[k] != null && boundaries[k + 1] != null) {
                    step.slices.add(new Window(starts[k], ends[k], boundaries[k], boundaries[k + 1]));
                }
                // One line per slice in time order, with the policy before it: drift in time and carry-over between
                // policies show here, not in the per-policy rows.
                List<long[]> xs = bySlice.get(k);
                long[] okFine = xs.stream().filter(x -> x[0] == 200).mapToLong(x -> x[2]).sorted().toArray();
                long[] okGatling = xs.stream().filter(x -> x[0] == 200).mapToLong(x -> x[1]).sorted().toArray();
                // The batcher's own queue-wait p95 over the slice's scrapes (its switch to the next): the part of the
                // slice's tail its policy decided (NaN when a scrape failed or nothing was batched).
                java.util.TreeMap<Double, Double> queue = new java.util.TreeMap<>();
                if (boundaries[k] != null && boundaries[k + 1] != null) {
                    addBuckets(queue, boundaries[k], boundaries[k + 1], QUEUE_LE);
                }
                double queueP95 = histogramQuantile(queue, 0.95);
                System.out.printf(Locale.ROOT, "slice %s %.1f %d %s after %s: counted %d, not 200 %d, p95 %s ms"
                                + " (Gatling's own %d ms), batcher queue p95 %s ms, arrivals per 10 ms p99/max %s%n",
                        MODEL, rate, k, slicePolicies.get(k), k == 0 ? "-" : slicePolicies.get(k - 1), xs.size(),
                        xs.stream().filter(x -> x[0] != 200).count(), fine(pct(okFine, 95)), pct(okGatling, 95),
                        fmt3(1000 * queueP95),
                        InterleavedPolicies.burstiness(xs.stream().mapToLong(x -> x[3]).toArray(), 10_000_000L));
                long nominal = spanStart() + k * SLICE_MS * 1_000_000L - (k == 0 ? WARMUP_S * 1_000_000_000L : 0);
                timing.append(String.format(Locale.ROOT, " %s:+%.0f/%s", slicePolicies.get(k), (switchSent[k] - nominal) / 1e6,
                        switchDone[k] < 0 ? "failed" : String.format(Locale.ROOT, "%.0fms", (switchDone[k] - switchSent[k]) / 1e6)));
            }
            System.out.printf(Locale.ROOT, "%s %.1f/s round-robin: %d slices, %d requests in guards, tails or unacknowledged"
                    + " switches (not counted); switches sent late by / acknowledged after:%s%n", MODEL, rate, n, dropped, timing);
        }
    }

    private final List<RoundRobin> roundRobins = new ArrayList<>();
    private final ScheduledExecutorService switcher = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "weir-sweep-switch");
        t.setDaemon(true);
        return t;
    });

    private final List<Step> steps = new ArrayList<>();
    private final ScheduledExecutorService scraper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "weir-sweep-metrics");
        t.setDaemon(true);
        return t;
    });
    private static final HttpClient METRICS_CLIENT = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final AtomicLong bodyCursor = new AtomicLong();

    /**
     * One shared keep-alive pool. Its size is NOT bounded, and Gatling 3.15 has no setting that bounds it:
     * {@code maxConnectionsPerHost} only limits the fetching of inferred page resources (it is read by
     * {@code DefaultResourceAggregator} alone; the sweep used to set it to 512 to no effect), and the shared
     * {@code ChannelPool} opens a connection for every request that finds none idle. So a server stall of a few hundred
     * milliseconds at thousands of requests/s opens thousands of connections (docs/PERF.md, "A sudden doubling of
     * load"). {@link BoundedPoolLoad} drives the same measurement through a pool that is bounded, as a real high-RPS
     * client's is.
     */
    private final HttpProtocolBuilder protocol = http.baseUrl(BASE).contentTypeHeader("application/json")
            .shareConnections();

    {
        List<PopulationBuilder> populations = new ArrayList<>();
        if (POOL_CONNECTIONS > 0) {
            populations.add(scenario(MODEL + "-pool").exec(request(new Step(0, false)))
                    .injectOpen(atOnceUsers(POOL_CONNECTIONS)));
        }
        List<String> labels = List.copyOf(INTERLEAVED.keySet());
        if (PRIME_S > 0 && PRIME_RATE > 0 && !labels.isEmpty()) {
            // The prime ramp in one segment per policy, so the JIT sees every policy's code before the first rate.
            int n = labels.size();
            for (int k = 0; k < n; k++) {
                double from = PRIME_RATE / 10 + (PRIME_RATE - PRIME_RATE / 10) * k / n;
                double to = PRIME_RATE / 10 + (PRIME_RATE - PRIME_RATE / 10) * (k + 1) / n;
                populations.add(switchTo(labels.get(k), new Step(0, false), null, Duration.ZERO));
                populations.add(scenario(MODEL + "-prime-" + labels.get(k)).exec(request(new Step(PRIME_RATE, false)))
                        .injectOpen(rampUsersPerSec(from).to(to).during(Duration.ofMillis(PRIME_S * 1000L / n))));
            }
        } else if (PRIME_S > 0 && PRIME_RATE > 0) {
            populations.add(scenario(MODEL + "-prime").exec(request(new Step(PRIME_RATE, false)))
                    .injectOpen(rampUsersPerSec(PRIME_RATE / 10).to(PRIME_RATE).during(Duration.ofSeconds(PRIME_S))));
        }
        if (CLOSED_USERS > 0) {
            Step step = new Step(0, true);
            steps.add(step);
            populations.add(scenario(MODEL + "-closed-" + CLOSED_USERS).exec(request(step))
                    .injectClosed(constantConcurrentUsers(CLOSED_USERS).during(Duration.ofSeconds(WARMUP_S + MEASURE_S))));
        } else {
            if (ROUNDS > 0) {
                List<List<String>> rounds = InterleavedPolicies.order(labels, RATES.length * ROUNDS, SEED);
                for (int i = 0; i < RATES.length; i++) {
                    if (i > 0 && RATE_GAP_S > 0) {
                        populations.add(scenario(MODEL + "-gap-" + i).pause(Duration.ofSeconds(RATE_GAP_S))
                                .injectOpen(atOnceUsers(1)));
                    }
                    List<String> slices = new ArrayList<>();
                    rounds.subList(i * ROUNDS, (i + 1) * ROUNDS).forEach(slices::addAll);
                    RoundRobin rr = new RoundRobin(RATES[i], slices, labels);
                    roundRobins.add(rr);
                    labels.forEach(label -> steps.add(rr.steps.get(label)));
                    long seconds = WARMUP_S * 1000L + (long) slices.size() * SLICE_MS;
                    populations.add(scenario(String.format(Locale.ROOT, "%s@%.1f-round-robin-%d", MODEL, RATES[i], i))
                            .exec(request(now -> rr.stepFor(now, switcher, scraper)))
                            .injectOpen(constantUsersPerSec(RATES[i]).during(Duration.ofMillis(seconds)).randomized()));
                }
            } else {
                List<List<String>> order = InterleavedPolicies.order(labels.isEmpty() ? List.of(POLICY) : labels, RATES.length, SEED);
                Step previous = null;
                for (int i = 0; i < RATES.length; i++) {
                    double rate = RATES[i];
                    for (String policy : order.get(i)) {
                        Step step = new Step(rate, true, policy);
                        steps.add(step);
                        if (!labels.isEmpty()) {
                            populations.add(switchTo(policy, step, previous, SETTLE));
                        }
                        populations.add(scenario(String.format(Locale.ROOT, "%s@%.1f-%s", MODEL, rate, policy)).exec(request(step))
                                .injectOpen(constantUsersPerSec(rate).during(Duration.ofSeconds(WARMUP_S + MEASURE_S)).randomized()));
                        previous = step;
                    }
                }
            }
        }
        PopulationBuilder chain = populations.getLast();
        for (int i = populations.size() - 2; i >= 0; i--) {
            chain = populations.get(i).andThen(chain);
        }
        setUp(chain).protocols(protocol);
    }

    /** Where a request that arrives at a given {@code System.nanoTime()} is counted: its step, or null (not counted). */
    interface Counting {
        Step stepFor(long arrivalNanos);
    }

    private ChainBuilder request(Step step) {
        return request(now -> {
            if (step.startNanos.compareAndSet(0, now) && step.recorded) {
                startProbes(step, scraper);
            }
            return isMeasured(step, now) ? step : null;
        });
    }

    private ChainBuilder request(Counting counting) {
        return exec(session -> {
            long now = System.nanoTime();
            Step step = counting.stepFor(now);
            // Read when the user's first step runs: as late as Gatling started the user, so a backlog in Gatling
            // itself (behind its injection schedule under overload) is neither in the latency nor in the arrival that
            // decides the counting window. Gatling keeps the scheduled time to itself.
            Session s = session.set("measured", step != null).set("sentAt", System.nanoTime());
            return step == null ? s : s.set("step", step);
        }).exec(http(session -> session.getBoolean("measured") ? "measured" : "warmup").post(path(MODEL))
                .body(StringBody(session -> BODIES[(int) (bodyCursor.getAndIncrement() % BODIES.length)]))
                .check(status().saveAs("status"), responseTimeInMillis().saveAs("rt"), status().is(200)))
                .exec(this::end);
    }

    private int switches;

    /**
     * One user that switches the gateway to {@code label}'s policy, then waits: {@code settle}, or longer after a
     * {@code previous} measurement that went wrong (see {@link #SETTLE_AFTER_TROUBLE}). If the switch fails, the step
     * is labelled {@code switch-failed:<label>} so its row can never be read as that policy's.
     */
    private PopulationBuilder switchTo(String label, Step step, Step previous, Duration settle) {
        return scenario(MODEL + "-switch-" + (++switches) + "-" + label)
                .exec(session -> {
                    if (!switchPolicy(label)) {
                        step.policy = "switch-failed:" + label;
                    }
                    return session;
                })
                .pause(session -> {
                    if (previous == null) {
                        return settle;
                    }
                    double[] trouble = previous.failureShareAndMaxMs();
                    return trouble[0] > 0.01 || trouble[1] >= 1000 ? SETTLE_AFTER_TROUBLE : settle;
                })
                .injectOpen(atOnceUsers(1));
    }

    /** {@code PUT /admin/models/<model>/batching} with the label's policy; true when the gateway took it. */
    static boolean switchPolicy(String label) {
        try {
            HttpResponse<String> r = METRICS_CLIENT.send(HttpRequest.newBuilder(URI.create(BASE + "/admin/models/" + MODEL + "/batching"))
                    .timeout(Duration.ofSeconds(10)).header("content-type", "application/json")
                    .PUT(HttpRequest.BodyPublishers.ofString(INTERLEAVED.get(label))).build(), HttpResponse.BodyHandlers.ofString());
            System.out.println("switched " + MODEL + " to " + label + ": " + r.statusCode() + " " + r.body());
            return r.statusCode() == 200;
        } catch (IOException | RuntimeException e) {
            System.err.println("switch to " + label + " failed: " + e);
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /**
     * /metrics costs the gateway 10-40 ms of event-loop time: read it only when the rate starts and when its arrivals
     * stop, never in the middle of the measured window, where the stall would be measured too.
     */
    static void startProbes(Step step, ScheduledExecutorService scraper) {
        scraper.execute(() -> step.atBegin = probe(true));
        scraper.schedule(() -> step.atStart = probe(false), WARMUP_S * 1000L, TimeUnit.MILLISECONDS);
        scraper.schedule(() -> step.atEnd = probe(true), (WARMUP_S + MEASURE_S) * 1000L, TimeUnit.MILLISECONDS);
    }

    /** Whether a request that arrives at {@code nanos} falls in its rate's measured window (after the warm-up). */
    static boolean isMeasured(Step step, long nanos) {
        long since = nanos - step.startNanos.get();
        return step.recorded && since >= WARMUP_S * 1_000_000_000L && since < (WARMUP_S + MEASURE_S) * 1_000_000_000L;
    }

    private Session end(Session session) {
        long fine = System.nanoTime() - session.getLong("sentAt");
        if (session.getBoolean("measured")) {
            long status = session.contains("status") ? session.getInt("status") : -1;
            long rt = session.contains("rt") ? session.getLong("rt") : fine / 1_000_000;
            session.<Step>get("step").add(status, rt, fine, session.getLong("sentAt"));
        }
        return session;
    }

    /** One measured window: CPU ticks between {@code start} and {@code end}, gateway metrics between the other two. */
    record Window(Probe start, Probe end, Probe metricsBegin, Probe metricsEnd) {
    }

    /**
     * What the gateway and the machine did up to one instant: the model's batcher metrics, CPU ticks of the server
     * process, of this load generator and of the whole machine (so that other processes' share can be reported).
     */
    record Probe(Map<String, Double> metrics, long serverTicks, long generatorTicks, long machineBusyTicks,
                 long machineTicks, long nanos) {
        static final Probe NONE = new Probe(Map.of(), -1, -1, -1, -1, 0);
    }

    private static Probe probe(boolean withMetrics) {
        long[] machine = machineTicks();
        return new Probe(withMetrics ? scrape() : Map.of(), SERVER_PID > 0 ? processTicks(String.valueOf(SERVER_PID)) : -1, processTicks("self"),
                machine[0], machine[1], System.nanoTime());
    }

    /** utime + stime of a process in clock ticks, from /proc (Linux); -1 when unreadable. */
    static long processTicks(String pid) {
        try {
            String stat = Files.readString(Path.of("/proc", pid, "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return Long.parseLong(f[11]) + Long.parseLong(f[12]);   // fields 14 and 15 of proc(5)
        } catch (IOException | RuntimeException e) {
            return -1;
        }
    }

    /** The machine's online CPUs: the per-CPU lines of /proc/stat (this JVM's available processors if unreadable). */
    static int onlineCpus() {
        try {
            int n = (int) Files.readAllLines(Path.of("/proc/stat")).stream()
                    .filter(l -> l.length() > 3 && l.startsWith("cpu") && Character.isDigit(l.charAt(3))).count();
            return n > 0 ? n : Runtime.getRuntime().availableProcessors();
        } catch (IOException | RuntimeException e) {
            return Runtime.getRuntime().availableProcessors();
        }
    }

    /** {busy, total} CPU ticks of the machine, all cores, from the first line of /proc/stat. */
    static long[] machineTicks() {
        try {
            String[] f = Files.readAllLines(Path.of("/proc/stat")).getFirst().trim().split("\\s+");
            long total = 0;
            for (int i = 1; i < Math.min(f.length, 9); i++) {
                total += Long.parseLong(f[i]);
            }
            long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
            return new long[] {total - idle, total};
        } catch (IOException | RuntimeException e) {
            return new long[] {-1, -1};
        }
    }

    /**
     * Sums of the model's {@code weir_batcher_*} series (all versions and backends) that the CSV row needs, of
     * {@code weir_http_connections} (all event loops), and of the model's OK answers' request-timer buckets.
     */
    private static Map<String, Double> scrape() {
        Map<String, Double> sums = new ConcurrentHashMap<>();
        try {
            HttpResponse<String> r = METRICS_CLIENT.send(HttpRequest.newBuilder(URI.create(BASE + "/metrics"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            sums.putAll(metricSums(r.body(), MODEL));
        } catch (IOException | RuntimeException e) {
            System.err.println("metrics scrape failed: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return sums;
    }

    /** The sums {@link #scrape} keeps, from a Prometheus text body, for {@code model}. */
    static Map<String, Double> metricSums(String body, String model) {
        Map<String, Double> sums = new HashMap<>();
        for (String line : body.split("\n")) {
            boolean forModel = line.contains("model=\"" + model + "\"");
            String name;
            if (forModel && line.startsWith(SERVER_BUCKETS) && line.contains("code=\"OK\"")) {
                name = SERVER_OK_LE + le(line);
            } else if (forModel && line.startsWith(QUEUE_BUCKETS)) {
                name = QUEUE_LE + le(line);
            } else if (forModel && line.startsWith("weir_batcher_") && line.contains("_bucket{")) {
                continue;   // other histograms' buckets: no column reads them
            } else if (forModel && line.startsWith("weir_batcher_") || line.startsWith(CONNECTIONS + "{")) {
                name = line.substring(0, line.indexOf('{'));
            } else {
                continue;
            }
            sums.merge(name, Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1)), Double::sum);
        }
        return sums;
    }

    /** A bucket line's upper bound, as printed ({@code +Inf} for the last). */
    private static String le(String line) {
        int from = line.indexOf("le=\"") + 4;
        return line.substring(from, line.indexOf('"', from));
    }

    /**
     * A cumulative histogram over the windows: for each bucket bound (seconds) the observations at or below it between
     * each window's scrapes, from the sums under {@code prefix}. A window whose opening scrape failed would count
     * everything since the gateway started: left out.
     */
    private static java.util.TreeMap<Double, Double> bucketsOver(List<Window> windows, String prefix) {
        java.util.TreeMap<Double, Double> cumulative = new java.util.TreeMap<>();
        for (Window w : windows) {
            addBuckets(cumulative, w.metricsBegin(), w.metricsEnd(), prefix);
        }
        return cumulative;
    }

    /** Adds to {@code cumulative} the observations under {@code prefix} between two scrapes (none if one failed). */
    private static void addBuckets(java.util.TreeMap<Double, Double> cumulative, Probe from, Probe to, String prefix) {
        Map<String, Double> begin = from.metrics();
        Map<String, Double> end = to.metrics();
        String total = prefix + "+Inf";
        if (begin.containsKey(total) && end.containsKey(total)) {
            for (String name : end.keySet()) {
                if (name.startsWith(prefix)) {
                    String bound = name.substring(prefix.length());
                    cumulative.merge(bound.equals("+Inf") ? Double.POSITIVE_INFINITY : Double.parseDouble(bound),
                            delta(begin, end, name), Double::sum);
                }
            }
        }
    }

    @Override
    public void before() {
        SmokeSimulation.awaitReady(Duration.ofSeconds(120));
    }

    @Override
    public void after() {
        // The last rate's closing scrape is due about now: let scheduled scrapes run (bounded), then stop.
        switcher.shutdown();
        scraper.shutdown();
        try {
            if (!scraper.awaitTermination(10, TimeUnit.SECONDS)) {
                scraper.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            switcher.awaitTermination(15, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        roundRobins.forEach(RoundRobin::finish);
        for (Step step : steps) {
            if (step.failedSwitches > 0) {
                step.policy += "-switch-failed-x" + step.failedSwitches;   // never read as the policy's own row
            }
        }
        appendRows(steps);
    }

    /** Appends one CSV row per recorded step to {@code weir.sweep.out} (header first when the file is new). */
    static void appendRows(List<Step> steps) {
        StringBuilder csv = new StringBuilder();
        for (Step step : steps) {
            if (step.recorded) {
                csv.append(row(step)).append('\n');
            }
        }
        try {
            Path parent = OUT.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            if (!Files.exists(OUT) || Files.size(OUT) == 0) {
                Files.writeString(OUT, HEADER + "\n", StandardCharsets.UTF_8);
            }
            Files.writeString(OUT, csv, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        System.out.print(HEADER + "\n" + csv);
    }

    private static String row(Step step) {
        List<long[]> s = step.snapshot();
        long ok = s.stream().filter(x -> x[0] == 200).count();
        long k429 = s.stream().filter(x -> x[0] == 429).count();
        long k504 = s.stream().filter(x -> x[0] == 504).count();
        long other = s.size() - ok - k429 - k504;
        long[] okMs = s.stream().filter(x -> x[0] == 200).mapToLong(x -> x[1]).sorted().toArray();
        long[] allMs = s.stream().mapToLong(x -> x[1]).sorted().toArray();
        long[] okFine = s.stream().filter(x -> x[0] == 200).mapToLong(x -> x[2]).sorted().toArray();
        long[] allFine = s.stream().mapToLong(x -> x[2]).sorted().toArray();
        List<Window> windows = step.windows();
        double n = s.size();
        // Sums over the windows (one, or a policy's round-robin slices). Ticks are 1/100 s on Linux (USER_HZ); convert
        // to ms of CPU per request sent, and to cores for others' share.
        long serverTicks = 0, generatorTicks = 0, busyTicks = 0, machineTicks = 0, wallNanos = 0;
        boolean serverKnown = true, generatorKnown = true, machineKnown = true;
        Map<String, Double> counts = new HashMap<>();
        for (Window w : windows) {
            Probe pa = w.start();
            Probe pb = w.end();
            serverKnown &= pa.serverTicks() >= 0 && pb.serverTicks() >= 0;
            generatorKnown &= pa.generatorTicks() >= 0 && pb.generatorTicks() >= 0;
            machineKnown &= pa.machineTicks() >= 0 && pb.machineTicks() > pa.machineTicks();
            serverTicks += pb.serverTicks() - pa.serverTicks();
            generatorTicks += pb.generatorTicks() - pa.generatorTicks();
            busyTicks += pb.machineBusyTicks() - pa.machineBusyTicks();
            machineTicks += pb.machineTicks() - pa.machineTicks();
            wallNanos += pb.nanos() - pa.nanos();
            for (String name : ROW_SERIES) {
                counts.merge(name, delta(w.metricsBegin().metrics(), w.metricsEnd().metrics(), name), Double::sum);
            }
        }
        java.util.TreeMap<Double, Double> serverOk = bucketsOver(windows, SERVER_OK_LE);
        java.util.TreeMap<Double, Double> queue = bucketsOver(windows, QUEUE_LE);
        double wallS = wallNanos / 1e9;
        double measureS = step.measureSeconds();
        // CPU per request: the cores a process used over the probed windows, times the seconds in which requests were
        // counted, over those requests. Round-robin probes run on the nominal schedule (a slice's guard to its tail),
        // while a slice counts from its switch's acknowledgement, so ticks over requests alone charged every late
        // acknowledgement's lost seconds to the requests of the rest (about 1% high, up to 25% at 2x).
        double serverCores = serverKnown ? serverTicks / 100.0 / wallS : Double.NaN;
        double generatorCores = generatorKnown ? generatorTicks / 100.0 / wallS : Double.NaN;
        double serverMs = serverCores * 1000 * measureS / n;
        double generatorMs = generatorCores * 1000 * measureS / n;
        // The first line of /proc/stat sums every online CPU of the machine, so scale by their count, not by this
        // JVM's availableProcessors(): pinned to some CPUs (run-sweep.sh --load-cpus) it sees only those.
        double machineCores = machineKnown ? onlineCpus() * busyTicks / (double) machineTicks : Double.NaN;
        double othersCores = machineCores - serverCores - generatorCores;
        double batches = counts.get("weir_batcher_batch_rows_count");
        double connections = windows.stream().mapToDouble(w -> w.metricsEnd().metrics().getOrDefault(CONNECTIONS, Double.NaN))
                .filter(v -> !Double.isNaN(v)).max().orElse(Double.NaN);
        return String.join(",", MODEL, step.policy, fmt(step.rate), String.valueOf(CLOSED_USERS),
                step.countedNanos < 0 ? String.valueOf(MEASURE_S) : fmt(measureS), String.valueOf(s.size()),
                String.valueOf(ok), String.valueOf(k429), String.valueOf(k504), String.valueOf(other),
                fmt(measureS > 0 ? ok / measureS : Double.NaN),
                ms(pct(okMs, 50)), ms(pct(okMs, 95)), ms(pct(okMs, 99)), ms(okMs.length == 0 ? -1 : okMs[okMs.length - 1]),
                ms(pct(allMs, 95)), ms(pct(allMs, 99)),
                fine(pct(okFine, 50)), fine(pct(okFine, 95)), fine(pct(okFine, 99)), fine(pct(allFine, 95)),
                fmt(batches),
                fmt(ratio(counts.get("weir_batcher_batch_rows_sum"), batches)),
                fmt(ratio(counts.get("weir_batcher_batch_requests_sum"), batches)),
                fmt4(1000 * ratio(counts.get("weir_batcher_compute_seconds_sum"), counts.get("weir_batcher_compute_seconds_count"))),
                fmt4(1000 * ratio(counts.get("weir_batcher_queue_wait_seconds_sum"), counts.get("weir_batcher_queue_wait_seconds_count"))),
                fmt3(serverMs), fmt3(generatorMs), fmt(machineCores), fmt(othersCores),
                fmt(CANARY.medianMillis(windows.getFirst().start().nanos(), windows.getLast().end().nanos())),
                fmt(connections),
                fmt3(1000 * histogramQuantile(serverOk, 0.95)), fmt3(1000 * histogramQuantile(serverOk, 0.99)),
                fmt3(1000 * histogramQuantile(queue, 0.95)));
    }

    /**
     * The {@code q} quantile of a cumulative histogram ({@code le} upper bound -> count of observations at or below
     * it, {@code +Inf} the total), as Prometheus' {@code histogram_quantile}: linear within the bucket that holds the
     * rank, from the previous bound (0 for the first); the highest finite bound when the rank falls in {@code +Inf};
     * NaN without observations or without the {@code +Inf} bucket.
     */
    static double histogramQuantile(java.util.NavigableMap<Double, Double> cumulative, double q) {
        Double total = cumulative.get(Double.POSITIVE_INFINITY);
        if (total == null || !(total > 0)) {
            return Double.NaN;
        }
        double rank = q * total;
        double lowerBound = 0;
        double lowerCount = 0;
        for (Map.Entry<Double, Double> e : cumulative.entrySet()) {
            if (e.getValue() >= rank) {
                if (e.getKey().isInfinite()) {
                    return lowerBound;
                }
                double inBucket = e.getValue() - lowerCount;
                return inBucket > 0 ? lowerBound + (e.getKey() - lowerBound) * (rank - lowerCount) / inBucket : e.getKey();
            }
            lowerBound = e.getKey();
            lowerCount = e.getValue();
        }
        return lowerBound;
    }

    /** The gateway's {@code weir_batcher_*} series a CSV row is computed from (summed over its windows). */
    private static final List<String> ROW_SERIES = List.of("weir_batcher_batch_rows_count", "weir_batcher_batch_rows_sum",
            "weir_batcher_batch_requests_sum", "weir_batcher_compute_seconds_sum", "weir_batcher_compute_seconds_count",
            "weir_batcher_queue_wait_seconds_sum", "weir_batcher_queue_wait_seconds_count");

    /** Nearest-rank percentile of a sorted array; -1 when empty. */
    static long pct(long[] sorted, double p) {
        if (sorted.length == 0) {
            return -1;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    private static double delta(Map<String, Double> a, Map<String, Double> b, String name) {
        return b.getOrDefault(name, 0.0) - a.getOrDefault(name, 0.0);
    }

    private static double ratio(double x, double y) {
        return y > 0 ? x / y : Double.NaN;
    }

    private static String ms(long v) {
        return v < 0 ? "" : String.valueOf(v);
    }

    private static String fine(long nanos) {
        return nanos < 0 ? "" : String.format(Locale.ROOT, "%.2f", nanos / 1e6);
    }

    /** Compute and queue wait per batch in ms to the microsecond (a one-row batch computes in tens of microseconds). */
    private static String fmt4(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String fmt3(double v) {
        return Double.isNaN(v) || Double.isInfinite(v) ? "" : String.format(Locale.ROOT, "%.3f", v);
    }

    private static String fmt(double v) {
        return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.2f", v);
    }
}
