package io.weir.perf.gatling;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.pool.AbstractChannelPoolHandler;
import io.netty.channel.pool.SimpleChannelPool;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AttributeKey;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
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
 * by timing from the schedule, not from the send). Client: Netty (Gatling's, already on the perf class path), one
 * event loop, HTTP/1.1 keep-alive connections in a pool that never holds more than the in-flight bound, 10 s request
 * timeout, like the sweep's Gatling settings. (A first version on the JDK's {@code HttpClient} cost 0.12-0.21 ms of CPU
 * per request, twice Gatling's, and filled both cores by itself at 5000 requests/s.)
 *
 * <p>With {@code weir.load.clientDeadline=true} the client propagates its deadline, as a gRPC client does: each request
 * carries in {@code x-weir-timeout-ms} what is left of the model's latency budget (read once from the gateway's model
 * metadata) counted from its scheduled arrival, so the gateway's 504 and its predicted-wait 429 act on the time the
 * request already spent in this client's queue, which the gateway cannot see. A request whose budget ran out before a
 * connection freed is not sent; it counts as a failure ({@link #CLIENT_EXPIRED}, in the CSV's {@code ko_other}) and
 * the log says how many there were.
 *
 * <p>Run by {@code perf/sweep/run-sweep.sh --generator bounded [--connections N] [--client-deadline]}; {@code main}
 * needs the sweep's system properties (loopback base URL only).
 */
public final class BoundedPoolLoad {
    private static final int CONNECTIONS = Integer.getInteger("weir.load.connections", 64);
    private static final boolean CLIENT_DEADLINE = Boolean.getBoolean("weir.load.clientDeadline");
    /** The status recorded for a request whose deadline passed while it waited for a connection (never sent). */
    static final int CLIENT_EXPIRED = -2;
    /** Below this much budget left a request is not sent: the gateway could not answer it in time. */
    private static final long MIN_SEND_BUDGET_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long REQUEST_TIMEOUT_MS = 10_000;
    /** The longest wait for a rate's answers before the next rate starts (they time out after 10 s anyway). */
    private static final long DRAIN_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(15);
    /** The gateway's per-request deadline header (milliseconds from its receipt). */
    private static final String TIMEOUT_HEADER = "x-weir-timeout-ms";
    /** The request a connection is carrying. */
    private static final AttributeKey<Exchange> ANSWER = AttributeKey.valueOf("weir.answer");

    /** One request on one connection; finished once, by its response, the connection's close or its timeout. */
    private final class Exchange {
        final PolicySweepSimulation.Step step;
        final long scheduledNanos;
        final boolean measured;
        io.netty.util.concurrent.Future<?> timeout;

        Exchange(PolicySweepSimulation.Step step, long scheduledNanos, boolean measured) {
            this.step = step;
            this.scheduledNanos = scheduledNanos;
            this.measured = measured;
        }

        void finish(int status) {
            record(status);
            limit.done();
        }

        /** Never sent: the deadline passed before a connection was free. Holds no slot, so frees none. */
        void expire() {
            record(CLIENT_EXPIRED);
        }

        private void record(int status) {
            long latency = System.nanoTime() - scheduledNanos;
            if (measured) {
                step.add(status, latency / 1_000_000, latency);
            }
        }
    }

    /**
     * Lets at most {@code limit} requests be in flight; the rest wait in arrival order. A send returns false when it
     * finished at once without going in flight (its deadline passed while it waited), and its slot goes to the next
     * waiting send in the same loop, not by recursion: a backlog of expired requests cannot deepen the stack. Threads:
     * {@link #submit} runs on the scheduling thread, {@link #done} on the client's event loop; both under the monitor.
     */
    static final class InFlightLimit {
        /** Starts one request: true when it went in flight (it calls {@link #done} later), false when it ended at once. */
        interface Send {
            boolean start();
        }

        private final int limit;
        private final ArrayDeque<Send> waiting = new ArrayDeque<>();
        private int inFlight;

        InFlightLimit(int limit) {
            if (limit < 1) {
                throw new IllegalArgumentException("at least one connection, was " + limit);
            }
            this.limit = limit;
        }

        void submit(Send send) {
            synchronized (this) {
                if (inFlight >= limit) {
                    waiting.add(send);
                    return;
                }
                inFlight++;
            }
            if (!send.start()) {
                done();
            }
        }

        /** One request finished: the oldest waiting one that goes in flight takes its place. */
        void done() {
            while (true) {
                Send next;
                synchronized (this) {
                    next = waiting.poll();
                    if (next == null) {
                        inFlight--;
                        notifyAll();
                        return;
                    }
                }
                if (next.start()) {
                    return;
                }
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

    private final EventLoopGroup loop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final SimpleChannelPool pool;
    private final ScheduledExecutorService scraper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "weir-load-metrics");
        t.setDaemon(true);
        return t;
    });
    private final InFlightLimit limit = new InFlightLimit(CONNECTIONS);
    private final URI uri;
    private final String hostHeader;
    private final ByteBuf[] bodies;
    private final SplittableRandom random = new SplittableRandom(7);
    private final AtomicInteger bodyCursor = new AtomicInteger();
    /** The budget each request carries from its scheduled arrival; 0 when the client does not propagate a deadline. */
    private final long deadlineNanos;

    private BoundedPoolLoad(String base, String model, long deadlineNanos) {
        this.deadlineNanos = deadlineNanos;
        this.uri = URI.create(base + PolicySweepSimulation.path(model));
        this.hostHeader = uri.getHost() + ":" + uri.getPort();
        String[] texts = PolicySweepSimulation.bodies(model, 1024, new java.util.Random(42));
        this.bodies = new ByteBuf[texts.length];
        for (int i = 0; i < texts.length; i++) {
            bodies[i] = Unpooled.unreleasableBuffer(Unpooled.copiedBuffer(texts[i], StandardCharsets.UTF_8));
        }
        Bootstrap bootstrap = new Bootstrap().group(loop).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true).option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 2_000)
                .remoteAddress(uri.getHost(), uri.getPort());
        this.pool = new SimpleChannelPool(bootstrap, new AbstractChannelPoolHandler() {
            @Override
            public void channelCreated(Channel ch) {
                ch.pipeline().addLast(new HttpClientCodec(), new HttpObjectAggregator(1 << 20),
                        new SimpleChannelInboundHandler<FullHttpResponse>() {
                            @Override
                            protected void channelRead0(ChannelHandlerContext ctx, FullHttpResponse response) {
                                answer(ctx.channel(), response.status().code());
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                answer(ctx.channel(), -1);
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close();
                            }
                        });
            }
        });
    }

    /** Hands a connection's answer to its current request once, then frees the connection (closed on a failure). */
    private void answer(Channel ch, int status) {
        Exchange exchange = ch.attr(ANSWER).getAndSet(null);
        if (exchange != null) {
            conclude(ch, exchange, status);
        }
    }

    private void conclude(Channel ch, Exchange exchange, int status) {
        if (exchange.timeout != null) {
            exchange.timeout.cancel(false);
        }
        if (status < 0) {
            ch.close();
        }
        pool.release(ch);
        exchange.finish(status);
    }

    public static void main(String[] args) throws Exception {
        // The simulation's constants are the one reading of the sweep's properties, validated (loopback only, rates,
        // windows) when they load.
        long deadlineNanos = CLIENT_DEADLINE
                ? TimeUnit.MILLISECONDS.toNanos(latencyBudgetMillis(PolicySweepSimulation.BASE, PolicySweepSimulation.MODEL))
                : 0;
        BoundedPoolLoad load = new BoundedPoolLoad(PolicySweepSimulation.BASE, PolicySweepSimulation.MODEL, deadlineNanos);
        // run-sweep.sh starts the load once the gateway is ready.
        if (PolicySweepSimulation.PRIME_S > 0 && PolicySweepSimulation.PRIME_RATE > 0) {
            load.run(new PolicySweepSimulation.Step(PolicySweepSimulation.PRIME_RATE, false),
                    PolicySweepSimulation.PRIME_RATE / 10, PolicySweepSimulation.PRIME_S);
        }
        List<PolicySweepSimulation.Step> steps = new ArrayList<>();
        int seconds = PolicySweepSimulation.WARMUP_S + PolicySweepSimulation.MEASURE_S;
        for (double rate : PolicySweepSimulation.RATES) {
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
        if (deadlineNanos > 0) {
            System.out.printf(Locale.ROOT, "client deadline: %d ms from the scheduled arrival, in %s%n",
                    TimeUnit.NANOSECONDS.toMillis(deadlineNanos), TIMEOUT_HEADER);
            for (PolicySweepSimulation.Step step : steps) {
                long expired = step.snapshot().stream().filter(x -> x[0] == CLIENT_EXPIRED).count();
                System.out.printf(Locale.ROOT, "rate %.1f: %d measured requests expired in the client's queue, unsent%n",
                        step.rate, expired);
            }
        }
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

    /** The model's {@code latency_budget_ms} from the gateway's model metadata ({@code GET /v2/models/<model>}). */
    static long latencyBudgetMillis(String base, String model) throws Exception {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpResponse<String> response = client.send(HttpRequest.newBuilder(URI.create(base + "/v2/models/" + model))
                .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            throw new IllegalStateException("model metadata of " + model + ": HTTP " + response.statusCode() + " " + response.body());
        }
        JsonNode budget = new ObjectMapper().readTree(response.body()).path("parameters").path("latency_budget_ms");
        if (!budget.canConvertToLong() || budget.asLong() <= 0) {
            throw new IllegalStateException("model metadata of " + model + " has no positive latency_budget_ms: " + response.body());
        }
        return budget.asLong();
    }

    /** What is left of a request's propagated deadline now; Long.MAX_VALUE when the client propagates none. */
    private long budgetLeftNanos(long scheduledNanos) {
        return deadlineNanos > 0 ? deadlineNanos - (System.nanoTime() - scheduledNanos) : Long.MAX_VALUE;
    }

    /** Sends one request; false when its deadline passed in the client's queue, recorded and not sent. */
    private boolean send(PolicySweepSimulation.Step step, long scheduledNanos, boolean measured) {
        if (budgetLeftNanos(scheduledNanos) < MIN_SEND_BUDGET_NANOS) {
            new Exchange(step, scheduledNanos, measured).expire();
            return false;
        }
        Exchange exchange = new Exchange(step, scheduledNanos, measured);
        pool.acquire().addListener(f -> {
            if (!f.isSuccess()) {
                exchange.finish(-1);
                return;
            }
            Channel ch = (Channel) f.getNow();
            long budgetLeft = budgetLeftNanos(scheduledNanos);
            if (budgetLeft < MIN_SEND_BUDGET_NANOS) {
                pool.release(ch);
                exchange.finish(CLIENT_EXPIRED);
                return;
            }
            ch.attr(ANSWER).set(exchange);
            ByteBuf body = bodies[Math.floorMod(bodyCursor.getAndIncrement(), bodies.length)].duplicate();
            FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, uri.getRawPath(), body);
            request.headers().set(HttpHeaderNames.HOST, hostHeader)
                    .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
            if (deadlineNanos > 0) {
                request.headers().set(TIMEOUT_HEADER, TimeUnit.NANOSECONDS.toMillis(budgetLeft));
            }
            // Only this request's timeout may end it: the connection may carry another request by then.
            exchange.timeout = ch.eventLoop().schedule(() -> {
                if (ch.attr(ANSWER).compareAndSet(exchange, null)) {
                    conclude(ch, exchange, -1);
                }
            }, REQUEST_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            ch.writeAndFlush(request);
        });
        return true;
    }
}
