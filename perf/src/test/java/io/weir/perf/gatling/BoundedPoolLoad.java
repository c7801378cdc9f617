package io.weir.perf.gatling;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The policy sweep's open-model load through a client whose connection pool is bounded, as a real high-RPS client's
 * is: the same rates, request bodies, warm-up and measurement windows, /metrics and /proc probes and CSV row as
 * {@link PolicySweepSimulation} (same system properties), but at most {@code weir.load.connections} requests in
 * flight, so at most that many HTTP/1.1 connections. Gatling 3.15's shared pool opens a new connection for every
 * request that finds none idle, which turns any stall of the server into a connection storm on the same cores; this
 * generator tells the gateway's part of an overload collapse from the generator's.
 *
 * <p>Arrivals are a Poisson process at the offered rate, scheduled by one thread, independent of responses (open
 * model). A request that arrives while every connection is busy waits in a FIFO queue, and its latency counts from
 * its scheduled arrival, so waiting for a connection is measured, not hidden (coordinated omission is handled here,
 * by timing from the schedule, not from the send). Client: the JDK's {@link HttpClient}, HTTP/1.1, keep-alive, two
 * threads, 10 s request timeout, like the sweep's Gatling settings.
 *
 * <p>Run by {@code perf/sweep/run-sweep.sh --generator bounded [--connections N]}; {@code main} needs the sweep's
 * system properties (loopback base URL only).
 */
public final class BoundedPoolLoad {
    private static final int CONNECTIONS = Integer.getInteger("weir.load.connections", 64);
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
    /** The longest wait for a rate's answers before the next rate starts (they time out after 10 s anyway). */
    private static final long DRAIN_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(15);

    /**
     * Lets at most {@code limit} requests be in flight; the rest wait in arrival order. Threads: {@link #submit} runs on
     * the scheduling thread, {@link #done} on the client's threads; both under the monitor.
     */
    static final class InFlightLimit {
        private final int limit;
        private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
        private int inFlight;

        InFlightLimit(int limit) {
            if (limit < 1) {
                throw new IllegalArgumentException("at least one connection, was " + limit);
            }
            this.limit = limit;
        }

        void submit(Runnable send) {
            synchronized (this) {
                if (inFlight >= limit) {
                    waiting.add(send);
                    return;
                }
                inFlight++;
            }
            send.run();
        }

        /** One request finished: the oldest waiting one takes its place. */
        void done() {
            Runnable next;
            synchronized (this) {
                next = waiting.poll();
                if (next == null) {
                    inFlight--;
                    notifyAll();
                }
            }
            if (next != null) {
                next.run();
            }
        }

        /** Waits until nothing is in flight or waiting, at most {@code nanos}; false on timeout. */
        synchronized boolean awaitIdle(long nanos) throws InterruptedException {
            long deadline = System.nanoTime() + nanos;
            while (inFlight > 0 || !waiting.isEmpty()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return true;
        }
    }

    private final HttpClient client;
    private final ExecutorService clientThreads = Executors.newFixedThreadPool(2, r -> {
        Thread t = new Thread(r, "weir-load-client");
        t.setDaemon(true);
        return t;
    });
    private final ScheduledExecutorService scraper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "weir-load-metrics");
        t.setDaemon(true);
        return t;
    });
    private final InFlightLimit limit = new InFlightLimit(CONNECTIONS);
    private final URI uri;
    private final String[] bodies;
    private final SplittableRandom random = new SplittableRandom(7);
    private final AtomicInteger bodyCursor = new AtomicInteger();

    private BoundedPoolLoad(String base, String model) {
        this.client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(2)).executor(clientThreads).build();
        this.uri = URI.create(base + (model.equals("ranker") ? "/v1/rank:score" : "/v1/moderate"));
        this.bodies = PolicySweepSimulation.bodies(model, 1024, new java.util.Random(42));
    }

    public static void main(String[] args) throws Exception {
        String base = System.getProperty("weir.baseUrl", "http://127.0.0.1:8080");
        String model = System.getProperty("weir.sweep.model", "moderation");
        // Reading the simulation's constants validates every property (loopback only, rates, windows) first.
        double[] rates = PolicySweepSimulation.RATES;
        BoundedPoolLoad load = new BoundedPoolLoad(base, model);
        // run-sweep.sh starts the load once the gateway is ready.
        if (PolicySweepSimulation.PRIME_S > 0 && PolicySweepSimulation.PRIME_RATE > 0) {
            load.run(new PolicySweepSimulation.Step(PolicySweepSimulation.PRIME_RATE, false),
                    PolicySweepSimulation.PRIME_RATE / 10, PolicySweepSimulation.PRIME_S);
        }
        List<PolicySweepSimulation.Step> steps = new ArrayList<>();
        int seconds = PolicySweepSimulation.WARMUP_S + PolicySweepSimulation.MEASURE_S;
        for (double rate : rates) {
            PolicySweepSimulation.Step step = new PolicySweepSimulation.Step(rate, true);
            steps.add(step);
            load.run(step, rate, seconds);
        }
        load.scraper.shutdown();
        if (!load.scraper.awaitTermination(10, TimeUnit.SECONDS)) {
            load.scraper.shutdownNow();
        }
        PolicySweepSimulation.appendRows(steps);
        System.out.printf(Locale.ROOT, "bounded pool: %d connections%n", CONNECTIONS);
        System.exit(0);
    }

    /**
     * Offers arrivals for {@code seconds}, the rate ramping linearly from {@code fromRate} to the step's rate, then waits
     * for the answers.
     */
    private void run(PolicySweepSimulation.Step step, double fromRate, int seconds) throws InterruptedException {
        long start = System.nanoTime();
        step.startNanos.set(start);
        if (step.recorded) {
            PolicySweepSimulation.startProbes(step, scraper);
        }
        long end = start + TimeUnit.SECONDS.toNanos(seconds);
        double next = start;
        while (true) {
            double elapsed = (next - start) / (end - start);
            double rate = fromRate + (step.rate - fromRate) * Math.min(1, elapsed);
            next += -Math.log(1 - random.nextDouble()) / rate * 1e9;
            if (next >= end) {
                break;
            }
            long due = (long) next;
            long wait = due - System.nanoTime();
            if (wait > 50_000) {
                LockSupport.parkNanos(wait);
            }
            boolean measured = PolicySweepSimulation.isMeasured(step, due);
            limit.submit(() -> send(step, due, measured));
        }
        if (!limit.awaitIdle(DRAIN_LIMIT_NANOS)) {
            System.err.printf(Locale.ROOT, "rate %.1f: answers still missing %d s after its arrivals stopped%n",
                    step.rate, TimeUnit.NANOSECONDS.toSeconds(DRAIN_LIMIT_NANOS));
        }
    }

    private void send(PolicySweepSimulation.Step step, long scheduledNanos, boolean measured) {
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(REQUEST_TIMEOUT)
                .header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(bodies[Math.floorMod(bodyCursor.getAndIncrement(), bodies.length)]))
                .build();
        client.sendAsync(request, HttpResponse.BodyHandlers.discarding()).whenComplete((response, failure) -> {
            long latency = System.nanoTime() - scheduledNanos;
            if (measured) {
                step.add(failure == null ? response.statusCode() : -1, latency / 1_000_000, latency);
            }
            limit.done();
        });
    }
}
