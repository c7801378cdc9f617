package io.weir.batcher.internal;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.vertx.core.json.JsonObject;
import io.weir.batcher.BatchingOptions.WaitMode;
import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.batcher.Priority;
import io.weir.batcher.testing.AffineBackend;
import io.weir.batcher.testing.TestModels;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.WeirException;
import org.HdrHistogram.Histogram;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

/**
 * One model version's real lane (its batch former, policy, runner, latency fit and admission check) on a simulated
 * CPU gateway ({@link SimHost}) under open-model Poisson load: what a batching policy does at a given offered rate
 * with none of a real machine's noise (GC pauses, other processes, the load generator's own lag), reproducible from
 * its seed. It answers whether a policy's decisions are good, which the Gatling sweeps cannot tell apart from the
 * rig's stalls (docs/PERF.md, "The policies on a simulated gateway").
 *
 * <p>The simulated gateway: {@code eventLoops} threads each parse a request ({@code httpInMicros} of CPU) before
 * admitting it, and write its answer ({@code httpOutMicros}) after; arrivals are spread over the loops in turn, as
 * connections are. The batching thread spends {@code decideMicros} per wake-up, taking in every arrival handed to it
 * meanwhile (as the ring's batches do). {@code workers} inference workers compute a batch of {@code n} rows in
 * {@code computeFixedMicros + computePerRowMicros·n} of CPU, scaled by a log-normal draw of spread
 * {@code computeNoise}. All of these share {@code cores}, less {@code backgroundCores}. Latency is timed from each
 * request's scheduled arrival to its answer written, so no coordinated omission: a backlog on the loops counts.
 * The edge's overload guard sheds as {@code OverloadGuard} does, and young-GC pauses stop every thread ({@link Host}).
 * Not simulated: connections and the client's pool, the JIT, OS scheduling quanta, wake-up latencies of every thread
 * but the batching thread's (optional, {@link Host#withWakeUps}), and the per-batch hand-offs beyond the batching
 * thread's own CPU; a 429 is written after the loop's queued reads, where the
 * gateway writes it in the same task (docs/PERF.md, "The policies on a simulated gateway").
 */
final class PolicySimulation {

    /**
     * A model and its request path: rows a request, budget, cap; compute {@code fixed + perRow·n} µs of CPU a batch,
     * scaled by a log-normal draw of spread {@code computeNoise}; the event loop's CPU a request: reading it (before
     * the edge's overload check), parsing it into features (after), writing its answer.
     */
    record Model(String name, int rowsPerRequest, double budgetMs, int maxBatchRows, double computeFixedMicros,
                 double computePerRowMicros, double computeNoise, double readMicros, double parseMicros,
                 double answerMicros, double garbageKb) {

        /**
         * The sweeps' ranker: 50 rows a request, budget 120 ms, cap 256 rows; compute 31 + 0.375 µs/row (1.0 µs/row
         * at 50-row batches, 0.5 at 250: the sweeps' fit); HTTP path 97 µs a request (v6's measured slope); 34.5 KB
         * of garbage a request (the GC logs of "Rank requests encoded while they are read").
         */
        static Model ranker() {
            return new Model("ranker", 50, 120, 256, 31, 0.375, 0.1, 15, 53, 29, 34.5);
        }

        /**
         * The sweeps' {@code moderation}: one row, budget 80 ms, cap 256 rows; compute 37.5 + 4.96 µs/row (42.5 µs at
         * one row, 5.3 µs/row at 109: the sweeps' fit); HTTP path 47 µs a request; 13 KB of garbage a request.
         */
        static Model moderation() {
            return new Model("moderation", 1, 80, 256, 37.5, 4.96, 0.1, 8, 25, 14, 13);
        }

        /**
         * This model with some of its numbers replaced, from {@code key=value} pairs: {@code rows}, {@code budget_ms},
         * {@code max_rows}, {@code fixed_us}, {@code per_row_us}, {@code noise}, {@code read_us}, {@code parse_us},
         * {@code answer_us}, {@code garbage_kb}; so that a capacity planner can put in their own model's fit and path.
         */
        Model with(Map<String, String> overrides) {
            Map<String, String> left = new HashMap<>(overrides);
            Model m = new Model(name, (int) number(left, "rows", rowsPerRequest), number(left, "budget_ms", budgetMs),
                    (int) number(left, "max_rows", maxBatchRows), number(left, "fixed_us", computeFixedMicros),
                    number(left, "per_row_us", computePerRowMicros), number(left, "noise", computeNoise),
                    number(left, "read_us", readMicros), number(left, "parse_us", parseMicros),
                    number(left, "answer_us", answerMicros), number(left, "garbage_kb", garbageKb));
            if (!left.isEmpty()) {
                throw new IllegalArgumentException("unknown model settings " + left.keySet());
            }
            if (m.rowsPerRequest < 1 || m.rowsPerRequest > m.maxBatchRows || !(m.budgetMs > 0)) {
                throw new IllegalArgumentException("rows must be 1 to max_rows and the budget positive: " + m);
            }
            return m;
        }

        private static double number(Map<String, String> left, String key, double otherwise) {
            String v = left.remove(key);
            return v == null ? otherwise : Double.parseDouble(v);
        }

        static Model named(String name) {
            return switch (name) {
                case "ranker" -> ranker();
                case "moderation" -> moderation();
                default -> throw new IllegalArgumentException("unknown model " + name + "; known: ranker, moderation");
            };
        }
    }

    /**
     * The gateway's host: cores and the JVM's background use of them, event loops, inference workers, the batching
     * thread's CPU a wake-up and a batch it hands to a worker, a 429's CPU on the loop, the edge's overload guard (a
     * loop sheds while its 5-ms timer runs more than {@code max(shedMinLagMs, shedBudgetFraction·budget)} late: the
     * gateway's defaults), and young-GC pauses: one each time the requests' garbage fills {@code edenMb}, of a
     * log-normal length (median {@code gcPauseMedianMs}, spread {@code gcPauseSpread}); {@code edenMb} 0: none.
     */
    record Host(double cores, double backgroundCores, int eventLoops, int workers, double decideMicros,
                double batchHandOffMicros, double shedAnswerMicros, double shedBudgetFraction, double shedMinLagMs,
                double edenMb, double gcPauseMedianMs, double gcPauseSpread, double wakeMedianMicros,
                double wakeSpread) {

        /**
         * The clean rig's gateway: two CPUs of its own, two event loops, two workers, 0.25 cores of JVM background,
         * 100 MB of eden, young pauses of 5 ms median (spread 0.8: about one in a hundred past 28 ms, moderation's
         * shed threshold at the edge; the clean rig's moderation gateways paused about 120 times in 48 s, a few of
         * them 20-78 ms).
         */
        static Host cleanRig() {
            return new Host(2, 0.25, 2, 2, 5, 0, 10, 0.35, 20, 100, 5, 0.8, 0, 0);
        }

        /** The same without GC pauses: the batching's own decisions alone. */
        Host withoutPauses() {
            return new Host(cores, backgroundCores, eventLoops, workers, decideMicros, batchHandOffMicros,
                    shedAnswerMicros, shedBudgetFraction, shedMinLagMs, 0, gcPauseMedianMs, gcPauseSpread, wakeMedianMicros,
                    wakeSpread);
        }

        /** Other young-GC pauses: eden (MB; 0: none), median pause (ms) and log-normal spread. */
        Host withPauses(double edenMb, double medianMs, double spread) {
            if (edenMb < 0 || !(medianMs > 0) || spread < 0) {
                throw new IllegalArgumentException("eden must be >= 0, the median pause positive, the spread >= 0");
            }
            return new Host(cores, backgroundCores, eventLoops, workers, decideMicros, batchHandOffMicros,
                    shedAnswerMicros, shedBudgetFraction, shedMinLagMs, edenMb, medianMs, spread, wakeMedianMicros, wakeSpread);
        }

        Host withBackground(double cores) {
            return new Host(this.cores, cores, eventLoops, workers, decideMicros, batchHandOffMicros,
                    shedAnswerMicros, shedBudgetFraction, shedMinLagMs, edenMb, gcPauseMedianMs, gcPauseSpread,
                    wakeMedianMicros, wakeSpread);
        }

        /** The edge guard's threshold: {@code http.shed.budget.fraction} (0: never sheds) and {@code http.shed.min.lag.ms}. */
        Host withShedding(double budgetFraction, double minLagMs) {
            if (budgetFraction < 0 || budgetFraction > 1 || minLagMs < 0) {
                throw new IllegalArgumentException("the shed fraction must be in [0, 1] and its floor >= 0");
            }
            return new Host(cores, backgroundCores, eventLoops, workers, decideMicros, batchHandOffMicros,
                    shedAnswerMicros, budgetFraction, minLagMs, edenMb, gcPauseMedianMs, gcPauseSpread, wakeMedianMicros,
                    wakeSpread);
        }

        /**
         * The batching thread's wake-ups: when it was parked, work handed to it (an arrival, its hold's timer) starts
         * a log-normal delay later (median {@code medianMicros}, spread {@code spread}; 0: at once), the time a parked
         * thread waits to get a core back. On the development VM under load a sleeping probe woke 0.11-0.13 ms late at
         * the median and 1.6-3.3 ms at p99 (docs/PERF.md, "A sleeping thread's wake-ups get later with it"): about
         * 120 µs with spread 1.3.
         */
        Host withWakeUps(double medianMicros, double spread) {
            if (medianMicros < 0 || spread < 0) {
                throw new IllegalArgumentException("the wake-up median and spread must be >= 0");
            }
            return new Host(cores, backgroundCores, eventLoops, workers, decideMicros, batchHandOffMicros,
                    shedAnswerMicros, shedBudgetFraction, shedMinLagMs, edenMb, gcPauseMedianMs, gcPauseSpread,
                    medianMicros, spread);
        }

        Host withBatchHandOff(double micros) {
            return new Host(cores, backgroundCores, eventLoops, workers, decideMicros, micros,
                    shedAnswerMicros, shedBudgetFraction, shedMinLagMs, edenMb, gcPauseMedianMs, gcPauseSpread,
                    wakeMedianMicros, wakeSpread);
        }
    }

    /** One run: a model on a host under a policy at an offered rate, for simulated seconds, from a seed. */
    record Scenario(Model model, Host host, JsonObject policy, double ratePerSecond, double warmupSeconds,
                    double measureSeconds, long seed) {

        static Scenario of(Model model, JsonObject policy, double ratePerSecond) {
            return new Scenario(model, Host.cleanRig(), policy, ratePerSecond, 2, 4, 1);
        }

        Scenario seconds(double warmup, double measure, long seed) {
            return new Scenario(model, host, policy, ratePerSecond, warmup, measure, seed);
        }

        Scenario on(Host other) {
            return new Scenario(model, other, policy, ratePerSecond, warmupSeconds, measureSeconds, seed);
        }
    }

    /** What a run measured over the requests that arrived in its measured window. */
    record Result(Scenario scenario, long offered, long ok, long shed, long edgeShed, long timedOut, long failed,
                  double p50Ms, double p95Ms, double p99Ms, double maxMs, double goodputPerSecond,
                  double meanBatchRows, double meanBatchRequests, double cpuLoad, long duplicates,
                  long gcPauses) {

        /** Answered, whatever the answer: every offered request must be. */
        long answered() {
            return ok + shed + timedOut + failed;
        }

        double notOkShare() {
            return offered == 0 ? 0 : (double) (offered - ok) / offered;
        }

        /** Within budget as the sweeps judge it: p95 inside the budget and at most 1% not answered 200. */
        boolean withinBudget() {
            return p95Ms <= scenario.model().budgetMs() && notOkShare() <= 0.01;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT,
                    "%s %s %.0f/s: p50 %.2f p95 %.2f p99 %.2f max %.1f ms, goodput %.0f/s, shed %d (edge %d), 504 %d, failed %d"
                            + " of %d; batch %.1f rows %.2f requests; cpu %.2f",
                    scenario.model().name(), scenario.policy().encode(), scenario.ratePerSecond(), p50Ms, p95Ms, p99Ms,
                    maxMs, goodputPerSecond, shed, edgeShed, timedOut, failed, offered, meanBatchRows, meanBatchRequests, cpuLoad);
        }
    }

    private PolicySimulation() {
    }

    static Result run(Scenario s) {
        Path dir;
        try {
            dir = Files.createTempDirectory("weir-policy-sim");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try {
            // On a virtual thread, as the workers are: the baton then passes between continuations on the same
            // carriers instead of waking OS threads, several times faster.
            Result[] result = new Result[1];
            Throwable[] failure = new Throwable[1];
            Thread sim = Thread.ofVirtual().name("policy-simulation").start(() -> {
                try {
                    result[0] = new Run(s, dir).run();
                } catch (Throwable e) {
                    failure[0] = e;
                }
            });
            sim.join();
            if (failure[0] instanceof RuntimeException e) {
                throw e;
            }
            if (failure[0] != null) {
                throw new IllegalStateException("the simulation failed", failure[0]);
            }
            return result[0];
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } finally {
            deleteQuietly(dir);
        }
    }

    private static final class Run {
        private static final long GUARD_PERIOD_NANOS = 5_000_000L;

        private final Scenario s;
        private final Model m;
        private final Host h;
        private final SimHost host;
        private final SimHost.Workers workers;
        private final SimHost.CpuThread[] loops;
        private final SimHost.CpuThread batching;
        private final SplittableRandom arrivals;
        private final SplittableRandom noise;
        private final SplittableRandom pauses;
        private final SplittableRandom wakeUps;
        private double garbageBytes;
        private long gcPauses;
        private final ModelKey key = new ModelKey("sim", "1.0.0");
        private final ModelRegistry registry;
        private final Lane lane;
        private final LongAdder duplicates = new LongAdder();
        /** Per event loop: its guard timer's next due time and the lag it last ran with (OverloadGuard's state). */
        private final long[][] guards;
        private final long shedLagNanos;
        private final List<Pending> inbox = new ArrayList<>();
        private final Histogram latency = new Histogram(3_600_000_000_000L, 3);
        private final long budgetNanos;
        private final long measureFrom;
        private final long measureTo;
        private boolean decisionQueued;
        private long timerAt = FlushWaitStrategy.NEVER;
        private long timerGeneration;
        private Throwable failure;
        private long offered;
        private long ok;
        private long shed;
        private long edgeShed;
        private long timedOut;
        private long failed;
        private long outstanding;
        private long batches;
        private long batchRows;
        private long pausesAtStart;

        Run(Scenario s, Path dir) {
            this.s = s;
            this.m = s.model();
            this.h = s.host();
            host = new SimHost(h.cores(), h.backgroundCores());
            loops = new SimHost.CpuThread[h.eventLoops()];
            guards = new long[h.eventLoops()][];
            for (int i = 0; i < loops.length; i++) {
                loops[i] = host.thread("event-loop-" + i);
                guards[i] = new long[] {host.nanos() + GUARD_PERIOD_NANOS, 0};
            }
            batching = host.thread("batcher");
            workers = host.new Workers(h.workers(), this::requestDecision, t -> {
                if (failure == null) {
                    failure = t;
                }
            });
            arrivals = new SplittableRandom(s.seed());
            noise = new SplittableRandom(s.seed() * 31 + 7);
            pauses = new SplittableRandom(s.seed() * 131 + 11);
            wakeUps = new SplittableRandom(s.seed() * 257 + 13);
            budgetNanos = (long) (m.budgetMs() * 1e6);
            shedLagNanos = h.shedBudgetFraction() <= 0 ? 0
                    : Math.max((long) (h.shedMinLagMs() * 1e6), (long) (budgetNanos * h.shedBudgetFraction()));
            measureFrom = host.nanos() + (long) (s.warmupSeconds() * 1e9);
            measureTo = measureFrom + (long) (s.measureSeconds() * 1e9);
            try {
                TestModels.write(dir, TestModels.config("sim", m.maxBatchRows(), m.budgetMs(), s.policy()), "1.0.0");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            registry = TestModels.registry(dir, List.of(backend()));
            Backends backends = new Backends(workers, h.workers(), name -> {
                throw new IllegalStateException("the simulation has no device");
            }, 0, Map.of(), host, host::cpuLoad);
            lane = new Lane(registry.peek(key).orElseThrow(), registry, host, backends,
                    new LaneMetrics(key, new SimpleMeterRegistry(), host, 1_000_000_000L), null, 1024,
                    WaitMode.PARKING, duplicates);
        }

        Result run() {
            try {
                host.startLoadSampling();
                for (int i = 0; i < loops.length; i++) {
                    int loop = i;
                    host.at(guards[i][0], () -> tick(loop));
                }
                host.at(host.nanos(), () -> arrive(0));
                host.runUntil(measureFrom);
                pausesAtStart = gcPauses;
                double loadSum = 0;
                int loadSamples = 0;
                for (long t = measureFrom; t < measureTo; t += 100_000_000L) {
                    host.runUntil(Math.min(measureTo, t + 100_000_000L));
                    loadSum += host.cpuLoad();
                    loadSamples++;
                }
                long batchesInWindow = batches;
                long rowsInWindow = batchRows;
                // Arrivals go on until every measured request is answered, so the last ones meet the same load.
                boolean drained = host.runWhile(() -> outstanding > 0 && failure == null, measureTo + 60_000_000_000L);
                if (failure != null) {
                    throw new IllegalStateException("the simulated lane failed", failure);
                }
                if (!drained) {
                    throw new IllegalStateException(outstanding + " measured requests still unanswered 60 s after the window");
                }
                double seconds = (measureTo - measureFrom) / 1e9;
                return new Result(s, offered, ok, shed, edgeShed, timedOut, failed,
                        ms(latency.getValueAtPercentile(50)), ms(latency.getValueAtPercentile(95)),
                        ms(latency.getValueAtPercentile(99)), ms(latency.getMaxValue()), ok / seconds,
                        batchesInWindow == 0 ? 0 : (double) rowsInWindow / batchesInWindow,
                        batchesInWindow == 0 ? 0 : (double) rowsInWindow / m.rowsPerRequest() / batchesInWindow,
                        loadSamples == 0 ? 0 : loadSum / loadSamples, duplicates.sum(), gcPauses - pausesAtStart);
            } finally {
                workers.close();
                lane.metrics.close();
                registry.close();
            }
        }

        private static double ms(long nanos) {
            return nanos / 1e6;
        }

        private boolean measured(long arrival) {
            return arrival >= measureFrom && arrival < measureTo;
        }

        /** Request {@code id} arrives now; the next one's arrival is drawn (exponential gaps: a Poisson process). */
        private void arrive(long id) {
            long arrival = host.nanos();
            if (measured(arrival)) {
                offered++;
                outstanding++;
            }
            int loopIndex = (int) (id % loops.length);
            SimHost.CpuThread loop = loops[loopIndex];
            allocate();
            loop.submit(m.readMicros() * 1e3, () -> {
                // OverloadGuard: a loop running late sheds what it reads, unparsed
                long now = host.nanos();
                long lag = Math.max(guards[loopIndex][1], now - guards[loopIndex][0]);
                if (shedLagNanos > 0 && lag > shedLagNanos) {
                    if (measured(arrival)) {
                        edgeShed++;
                    }
                    answer(loop, arrival, WeirException.exhausted("the gateway is overloaded", 1), h.shedAnswerMicros());
                } else {
                    loop.submitFirst(m.parseMicros() * 1e3, () -> admit(id, arrival, loop));
                }
            });
            double gap = -Math.log(1 - arrivals.nextDouble()) / s.ratePerSecond() * 1e9;
            host.at(arrival + Math.max(1, (long) gap), () -> arrive(id + 1));
        }

        /** The request's garbage (counted at its arrival); a young-GC pause when it fills eden. */
        private void allocate() {
            if (h.edenMb() <= 0) {
                return;
            }
            garbageBytes += m.garbageKb() * 1024;
            if (garbageBytes >= h.edenMb() * 1024 * 1024) {
                garbageBytes = 0;
                double ms = h.gcPauseMedianMs() * Math.exp(h.gcPauseSpread() * pauses.nextGaussian());
                host.pause((long) (ms * 1e6));
                gcPauses++;
            }
        }

        /** The guard's 5-ms timer of loop {@code i} is due: it runs when the loop gets to it, and notes how late. */
        private void tick(int i) {
            loops[i].submit(0, () -> {
                long now = host.nanos();
                guards[i][1] = Math.max(0, now - guards[i][0]);
                guards[i][0] = now + GUARD_PERIOD_NANOS;
                host.at(guards[i][0], () -> tick(i));
            });
        }

        /** On the event loop, the request parsed: admitted into the lane as {@code BatchingDispatcher} admits it. */
        private void admit(long id, long arrival, SimHost.CpuThread loop) {
            long now = host.nanos();
            long deadline = now + budgetNanos;
            InferenceRequest request = TestModels.request(key, (int) id, m.rowsPerRequest(), now, deadline, Priority.NORMAL);
            WeirException refused = lane.shedOnPrediction(m.rowsPerRequest(), deadline, now);
            if (refused == null) {
                refused = lane.reserve(1, m.rowsPerRequest());
            }
            if (refused != null) {
                answer(loop, arrival, refused, h.shedAnswerMicros());
                return;
            }
            inbox.add(new Pending(request, deadline, new Completion() {
                @Override
                public void succeed(InferenceResult result) {
                    boolean own = Arrays.equals(result.outputs().get("y").floats(),
                            TestModels.expected((int) id, m.rowsPerRequest()));
                    answer(loop, arrival, own ? null : new IllegalStateException("request " + id + " got another's answer"),
                            m.answerMicros());
                }

                @Override
                public void fail(Throwable error) {
                    answer(loop, arrival, error, h.shedAnswerMicros());
                }
            }, duplicates));
            requestDecision();
        }

        /** The answer is written on the request's event loop; then it counts. */
        private void answer(SimHost.CpuThread loop, long arrival, Throwable error, double micros) {
            loop.submit(micros * 1e3, () -> {
                if (!measured(arrival)) {
                    return;
                }
                outstanding--;
                if (error == null) {
                    ok++;
                    latency.recordValue(host.nanos() - arrival);
                } else if (error instanceof WeirException w && w.code() == ErrorCode.RESOURCE_EXHAUSTED) {
                    shed++;
                } else if (error instanceof WeirException w && w.code() == ErrorCode.DEADLINE_EXCEEDED) {
                    timedOut++;
                } else {
                    failed++;
                }
            });
        }

        /**
         * Wakes the batching thread, unless a wake-up is already on its way (the ring coalesces them too); a parked
         * thread gets its core back after the host's wake-up delay.
         */
        private void requestDecision() {
            if (!decisionQueued) {
                decisionQueued = true;
                if (h.wakeMedianMicros() > 0 && batching.idle()) {
                    long delay = (long) (h.wakeMedianMicros() * 1e3 * Math.exp(h.wakeSpread() * wakeUps.nextGaussian()));
                    host.at(host.nanos() + delay, () -> batching.submit(h.decideMicros() * 1e3, this::decide));
                } else {
                    batching.submit(h.decideMicros() * 1e3, this::decide);
                }
            }
        }

        /** The batching thread's turn: takes in what was handed over, decides, sets its timer. */
        private void decide() {
            decisionQueued = false;
            long now = host.nanos();
            for (Pending p : inbox) {
                lane.former.accept(p, now);
            }
            inbox.clear();
            long handedOver = workers.submitted();
            lane.former.decide(now);
            long batchesStarted = workers.submitted() - handedOver;
            if (batchesStarted > 0 && h.batchHandOffMicros() > 0) {
                // the hand-offs occupy the batching thread: its next decision waits for them
                batching.submit(batchesStarted * h.batchHandOffMicros() * 1e3, () -> { });
            }
            long wake = lane.waits.wakeAt();
            if (wake != FlushWaitStrategy.NEVER && wake != timerAt) {
                timerAt = wake;
                long generation = ++timerGeneration;
                host.at(wake, () -> {
                    if (generation == timerGeneration) {
                        timerAt = FlushWaitStrategy.NEVER;
                        requestDecision();
                    }
                });
            }
        }

        /**
         * The backend: the tests' {@link AffineBackend} ({@code y = 2·x + offset}, so each request's answer is its
         * own), spending each batch's simulated compute on its worker first.
         */
        private AffineBackend backend() {
            AffineBackend backend = new AffineBackend(Backends.CPU, null);
            backend.keepBatches(false);
            backend.beforeCompute(rows -> {
                double micros = m.computeFixedMicros() + m.computePerRowMicros() * rows;
                double sigma = m.computeNoise();
                double factor = sigma > 0 ? Math.exp(sigma * noise.nextGaussian() - sigma * sigma / 2) : 1;
                if (!workers.onWorker()) {
                    return; // the registry's warm-up call at load, before the simulation starts: no simulated time
                }
                if (host.nanos() >= measureFrom && host.nanos() < measureTo) {
                    batches++;
                    batchRows += rows;
                }
                workers.compute(micros * factor * 1e3);
            });
            return backend;
        }
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temporary directory left behind is harmless
        }
    }
}
