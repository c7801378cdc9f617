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
import java.util.Collections;
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
 * (ms, {@code responseTimeInMillis}), a finer time taken around the request in the virtual user (ns) and the HTTP
 * status; at the end it appends one CSV row per rate: sent, OK (200), 429, 504, other failures, goodput, and the
 * 50/95/99th percentiles and max over OK responses and over all responses. It also reads the gateway's
 * {@code weir_batcher_*} metrics when each rate starts and when its arrivals stop (warm-up included), so the row
 * carries the mean batch size and mean compute per batch that the rate produced, and reads /proc for the CPU time the server
 * ({@code weir.sweep.serverPid}) and this load generator spent per request and for how busy the whole machine was. The
 * last column, {@code canary_ms}, is {@link MachineCanary}'s median over the window: how fast the machine itself was.
 *
 * <p>Two extra modes: {@code weir.sweep.primeRate}/{@code primeSeconds} send an unrecorded first phase (the server's
 * JIT warms before the first measured rate, so the lowest rate is not penalised for going first), and
 * {@code weir.sweep.closedUsers} replaces the open rates by a closed-loop probe (that many users, each sending its next
 * request as soon as the previous one is answered) to find a model's capacity.
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
    /** The gateway's process id, for its CPU time per request (0: not reported). */
    private static final long SERVER_PID = Long.getLong("weir.sweep.serverPid", 0L);

    static final String HEADER = "model,policy,offered_rps,closed_users,measure_s,sent,ok,ko_429,ko_504,ko_other,goodput_rps,"
            + "ok_p50_ms,ok_p95_ms,ok_p99_ms,ok_max_ms,all_p95_ms,all_p99_ms,"
            + "fine_ok_p50_ms,fine_ok_p95_ms,fine_ok_p99_ms,fine_all_p95_ms,"
            + "batches,mean_batch_rows,mean_batch_requests,mean_compute_ms,mean_queue_wait_ms,"
            + "server_cpu_ms_per_req,generator_cpu_ms_per_req,machine_busy_cores,other_processes_cores,canary_ms";

    static {
        if (!URI.create(BASE).getHost().matches("127\\.\\d+\\.\\d+\\.\\d+|localhost|\\[::1\\]")) {
            throw new IllegalArgumentException("load tests target loopback only, not " + BASE);
        }
        if (!MODEL.equals("ranker") && !MODEL.equals("moderation")) {
            throw new IllegalArgumentException("weir.sweep.model must be ranker or moderation, was " + MODEL);
        }
        if (CLOSED_USERS == 0 && (RATES.length == 0 || Arrays.stream(RATES).anyMatch(r -> !(r > 0) || r > 100_000))) {
            throw new IllegalArgumentException("weir.sweep.rates must be a list of rates in (0, 100000]");
        }
        if (CLOSED_USERS < 0 || CLOSED_USERS > 1024 || PRIME_S < 0 || PRIME_S > 120 || PRIME_RATE < 0 || PRIME_RATE > 100_000) {
            throw new IllegalArgumentException("closedUsers must be in [0, 1024], primeSeconds in [0, 120], primeRate in [0, 100000]");
        }
        if (POOL_CONNECTIONS < 0 || POOL_CONNECTIONS > 16_384) {
            throw new IllegalArgumentException("poolConnections must be in [0, 16384]");
        }
        if (WARMUP_S < 0 || MEASURE_S < 1 || WARMUP_S + MEASURE_S > 120) {
            throw new IllegalArgumentException("warm-up + measurement must be at most 120 s per rate");
        }
        if (!POLICY_FILE.isEmpty() && (CLOSED_USERS > 0 || POOL_CONNECTIONS > 0)) {
            throw new IllegalArgumentException("an interleaved run (policyFile) takes open rates and no warm pool");
        }
    }

    /** The policies of an interleaved run, label to JSON, in file order; empty without {@code weir.sweep.policyFile}. */
    static final Map<String, String> INTERLEAVED = interleavedPolicies(POLICY_FILE);

    static Map<String, String> interleavedPolicies(String file) {
        Map<String, String> out = new LinkedHashMap<>();
        if (file.isEmpty()) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(Path.of(file))) {
                if (line.isBlank()) {
                    continue;
                }
                String[] kv = line.split("\t", 2);
                if (kv.length != 2 || kv[0].isBlank() || !kv[1].trim().startsWith("{") || out.put(kv[0].trim(), kv[1].trim()) != null) {
                    throw new IllegalArgumentException("weir.sweep.policyFile: want 'label<TAB>{json}' lines, unique labels; got: " + line);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("weir.sweep.policyFile " + file + " lists no policy");
        }
        return out;
    }

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
        final AtomicLong startNanos = new AtomicLong();
        final List<long[]> samples = new ArrayList<>();   // {status, gatlingMs, fineNanos}
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
            samples.add(new long[] {status, gatlingMs, fineNanos});
        }

        synchronized List<long[]> snapshot() {
            return List.copyOf(samples);
        }
    }

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
            Random order = new Random(SEED);
            Step previous = null;
            for (double rate : RATES) {
                List<String> policies = new ArrayList<>(labels.isEmpty() ? List.of(POLICY) : labels);
                Collections.shuffle(policies, order);
                for (String policy : policies) {
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
        PopulationBuilder chain = populations.getLast();
        for (int i = populations.size() - 2; i >= 0; i--) {
            chain = populations.get(i).andThen(chain);
        }
        setUp(chain).protocols(protocol);
    }

    private ChainBuilder request(Step step) {
        return exec(session -> begin(step, session)).exec(http(session -> session.getBoolean("measured") ? "measured" : "warmup").post(path(MODEL))
                .body(StringBody(session -> BODIES[(int) (bodyCursor.getAndIncrement() % BODIES.length)]))
                .check(status().saveAs("status"), responseTimeInMillis().saveAs("rt"), status().is(200)))
                .exec(session -> end(step, session));
    }

    /**
     * One user that switches the gateway to {@code label}'s policy, then waits: {@code settle}, or longer after a
     * {@code previous} measurement that went wrong (see {@link #SETTLE_AFTER_TROUBLE}). If the switch fails, the step
     * is labelled {@code switch-failed:<label>} so its row can never be read as that policy's.
     */
    private int switches;

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

    private Session begin(Step step, Session session) {
        long now = System.nanoTime();
        if (step.startNanos.compareAndSet(0, now) && step.recorded) {
            startProbes(step, scraper);
        }
        return session.set("measured", isMeasured(step, now)).set("sentAt", System.nanoTime());
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

    private Session end(Step step, Session session) {
        long fine = System.nanoTime() - session.getLong("sentAt");
        if (session.getBoolean("measured")) {
            long status = session.contains("status") ? session.getInt("status") : -1;
            long rt = session.contains("rt") ? session.getLong("rt") : fine / 1_000_000;
            step.add(status, rt, fine);
        }
        return session;
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

    /** Sums of the model's {@code weir_batcher_*} series (all versions and backends) that the CSV row needs. */
    private static Map<String, Double> scrape() {
        Map<String, Double> sums = new ConcurrentHashMap<>();
        try {
            HttpResponse<String> r = METRICS_CLIENT.send(HttpRequest.newBuilder(URI.create(BASE + "/metrics"))
                    .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
            for (String line : r.body().split("\n")) {
                if (!line.startsWith("weir_batcher_") || !line.contains("model=\"" + MODEL + "\"")) {
                    continue;
                }
                String name = line.substring(0, line.indexOf('{'));
                double value = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                sums.merge(name, value, Double::sum);
            }
        } catch (IOException | RuntimeException e) {
            System.err.println("metrics scrape failed: " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return sums;
    }

    @Override
    public void before() {
        SmokeSimulation.awaitReady(Duration.ofSeconds(120));
    }

    @Override
    public void after() {
        // The last rate's closing scrape is due about now: let scheduled scrapes run (bounded), then stop.
        scraper.shutdown();
        try {
            if (!scraper.awaitTermination(10, TimeUnit.SECONDS)) {
                scraper.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
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
        Probe pa = step.atStart;
        Probe pb = step.atEnd;
        Map<String, Double> a = step.atBegin.metrics();
        Map<String, Double> b = pb.metrics();
        double n = s.size();
        // Ticks are 1/100 s on Linux (USER_HZ); convert to ms of CPU per request sent, and to cores for others' share.
        double serverMs = pa.serverTicks() < 0 || pb.serverTicks() < 0 ? Double.NaN : (pb.serverTicks() - pa.serverTicks()) * 10.0 / n;
        double generatorMs = pa.generatorTicks() < 0 || pb.generatorTicks() < 0 ? Double.NaN : (pb.generatorTicks() - pa.generatorTicks()) * 10.0 / n;
        double wallS = (pb.nanos() - pa.nanos()) / 1e9;
        double cores = Runtime.getRuntime().availableProcessors();
        double machineCores = pa.machineTicks() < 0 || pb.machineTicks() <= pa.machineTicks() ? Double.NaN
                : cores * (pb.machineBusyTicks() - pa.machineBusyTicks()) / (double) (pb.machineTicks() - pa.machineTicks());
        double othersCores = machineCores - (serverMs + generatorMs) * n / 1000.0 / wallS;
        double batches = delta(a, b, "weir_batcher_batch_rows_count");
        return String.join(",", MODEL, step.policy, fmt(step.rate), String.valueOf(CLOSED_USERS), String.valueOf(MEASURE_S), String.valueOf(s.size()),
                String.valueOf(ok), String.valueOf(k429), String.valueOf(k504), String.valueOf(other),
                fmt(ok / (double) MEASURE_S),
                ms(pct(okMs, 50)), ms(pct(okMs, 95)), ms(pct(okMs, 99)), ms(okMs.length == 0 ? -1 : okMs[okMs.length - 1]),
                ms(pct(allMs, 95)), ms(pct(allMs, 99)),
                fine(pct(okFine, 50)), fine(pct(okFine, 95)), fine(pct(okFine, 99)), fine(pct(allFine, 95)),
                fmt(batches),
                fmt(ratio(delta(a, b, "weir_batcher_batch_rows_sum"), batches)),
                fmt(ratio(delta(a, b, "weir_batcher_batch_requests_sum"), batches)),
                fmt4(1000 * ratio(delta(a, b, "weir_batcher_compute_seconds_sum"), delta(a, b, "weir_batcher_compute_seconds_count"))),
                fmt4(1000 * ratio(delta(a, b, "weir_batcher_queue_wait_seconds_sum"), delta(a, b, "weir_batcher_queue_wait_seconds_count"))),
                fmt3(serverMs), fmt3(generatorMs), fmt(machineCores), fmt(othersCores),
                fmt(CANARY.medianMillis(pa.nanos(), pb.nanos())));
    }

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
