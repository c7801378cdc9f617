package io.weir.gateway.grpc;

import io.vertx.core.Vertx;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcStatus;
import io.weir.gateway.grpc.proto.similar.GetSimilarRequest;
import io.weir.gateway.grpc.proto.similar.SimilarGrpcClient;
import io.weir.runtime.embedding.DemoEmbeddings;
import io.weir.runtime.embedding.SimilarService;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * GetSimilar at a fixed arrival rate (open model: a request is sent on schedule whether or not earlier ones have
 * answered, and latency counts from the scheduled send time, so queueing is not hidden) against the full demo index
 * (20,000 x 256) over loopback gRPC (h2c, one connection), through the real gateway port, endpoint, batcher and CPU
 * search. Half the queries are by one
 * item id, a quarter by three ids, a quarter by an embedding; k = 10. Not a unit test; results go to docs/PERF.md.
 *
 * <pre>java ... io.weir.gateway.grpc.GetSimilarBenchmark [rps=100] [seconds=20] [searchThreads=2]</pre>
 */
public final class GetSimilarBenchmark {
    public static void main(String[] args) throws Exception {
        int rps = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 20;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2;
        Path dir = Files.createTempDirectory("weir-similar-bench");
        long genStart = System.nanoTime();
        DemoEmbeddings.ensure(dir);
        System.out.printf(Locale.ROOT, "generated demo index in %d ms%n", (System.nanoTime() - genStart) / 1_000_000);

        try (GrpcTestServer server = GrpcTestServer.startOn(dir, threads)) {
            Vertx vertx = server.vertx;
            SimilarService similar = server.similar;
            var address = server.address();
            GrpcClient client = GrpcTestServer.client(vertx);

            Random rnd = new Random(1);
            int warmup = Math.max(50, rps * 2);
            int total = rps * seconds;
            GetSimilarRequest[] requests = new GetSimilarRequest[warmup + total];
            for (int i = 0; i < requests.length; i++) {
                requests[i] = request(rnd, i);
            }
            run(vertx, client, address, requests, 0, warmup, rps, new long[warmup], new AtomicInteger());
            long[] latencies = new long[total];
            AtomicInteger failures = new AtomicInteger();
            long start = System.nanoTime();
            run(vertx, client, address, requests, warmup, total, rps, latencies, failures);
            double wall = (System.nanoTime() - start) / 1e9;
            Arrays.sort(latencies);
            System.out.printf(Locale.ROOT, "GetSimilar %d rps x %d s (%d requests, %.1f s wall), %d search threads, batches %d for %d queries%n",
                    rps, seconds, total, wall, threads, similar.batches(), similar.queriesSearched());
            System.out.printf(Locale.ROOT, "  failures %d  p50 %.2f ms  p95 %.2f ms  p99 %.2f ms  max %.2f ms%n",
                    failures.get(), pct(latencies, 0.50), pct(latencies, 0.95), pct(latencies, 0.99), latencies[total - 1] / 1e6);
            System.out.println(pct(latencies, 0.95) <= 120 && failures.get() == 0 ? "PASS: p95 <= 120 ms" : "FAIL: p95 > 120 ms or failures");
        }
    }

    private static GetSimilarRequest request(Random rnd, int i) {
        GetSimilarRequest.Builder b = GetSimilarRequest.newBuilder().setK(10);
        switch (i % 4) {
            case 0, 1 -> b.addItemIds(DemoEmbeddings.itemId(rnd.nextInt(DemoEmbeddings.DEFAULT_ITEMS)));
            case 2 -> {
                for (int j = 0; j < 3; j++) {
                    b.addItemIds(DemoEmbeddings.itemId(rnd.nextInt(DemoEmbeddings.DEFAULT_ITEMS)));
                }
            }
            default -> {
                for (int d = 0; d < DemoEmbeddings.DEFAULT_DIMENSIONS; d++) {
                    b.addEmbedding((float) rnd.nextGaussian());
                }
            }
        }
        return b.build();
    }

    /** Sends {@code count} requests at {@code rps} on schedule; latency from the scheduled send time. */
    private static void run(Vertx vertx, GrpcClient client, io.vertx.core.net.SocketAddress address, GetSimilarRequest[] requests,
                            int offset, int count, int rps, long[] latencies, AtomicInteger failures) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(count);
        long intervalNanos = 1_000_000_000L / rps;
        long t0 = System.nanoTime() + 20_000_000;
        for (int i = 0; i < count; i++) {
            long scheduled = t0 + i * intervalNanos;
            long wait = scheduled - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            int slot = i;
            GetSimilarRequest req = requests[offset + i];
            vertx.runOnContext(v -> GrpcTestServer.call(client, address, SimilarGrpcClient.GetSimilar, req, 0).onComplete(ar -> {
                latencies[slot] = System.nanoTime() - scheduled;
                if (ar.failed() || ar.result().status() != GrpcStatus.OK) {
                    failures.incrementAndGet();
                }
                done.countDown();
            }));
        }
        if (!done.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("requests did not finish");
        }
    }

    private static double pct(long[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
    }
}
