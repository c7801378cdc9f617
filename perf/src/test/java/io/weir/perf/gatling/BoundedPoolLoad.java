package io.weir.perf.gatling;

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
import java.nio.charset.StandardCharsets;
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
 * <p>Run by {@code perf/sweep/run-sweep.sh --generator bounded [--connections N]}; {@code main} needs the sweep's
 * system properties (loopback base URL only).
 */
public final class BoundedPoolLoad {
    private static final int CONNECTIONS = Integer.getInteger("weir.load.connections", 64);
    private static final long REQUEST_TIMEOUT_MS = 10_000;
    /** The longest wait for a rate's answers before the next rate starts (they time out after 10 s anyway). */
    private static final long DRAIN_LIMIT_NANOS = TimeUnit.SECONDS.toNanos(15);
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
            long latency = System.nanoTime() - scheduledNanos;
            if (measured) {
                step.add(status, latency / 1_000_000, latency);
            }
            limit.done();
        }
    }

    /**
     * Lets at most {@code limit} requests be in flight; the rest wait in arrival order. Threads: {@link #submit} runs on
     * the scheduling thread, {@link #done} on the client's event loop; both under the monitor.
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

    private BoundedPoolLoad(String base, String model) {
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
        BoundedPoolLoad load = new BoundedPoolLoad(PolicySweepSimulation.BASE, PolicySweepSimulation.MODEL);
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
        Exchange exchange = new Exchange(step, scheduledNanos, measured);
        pool.acquire().addListener(f -> {
            if (!f.isSuccess()) {
                exchange.finish(-1);
                return;
            }
            Channel ch = (Channel) f.getNow();
            ch.attr(ANSWER).set(exchange);
            ByteBuf body = bodies[Math.floorMod(bodyCursor.getAndIncrement(), bodies.length)].duplicate();
            FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, uri.getRawPath(), body);
            request.headers().set(HttpHeaderNames.HOST, hostHeader)
                    .set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_JSON)
                    .set(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
            // Only this request's timeout may end it: the connection may carry another request by then.
            exchange.timeout = ch.eventLoop().schedule(() -> {
                if (ch.attr(ANSWER).compareAndSet(exchange, null)) {
                    conclude(ch, exchange, -1);
                }
            }, REQUEST_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            ch.writeAndFlush(request);
        });
    }
}
