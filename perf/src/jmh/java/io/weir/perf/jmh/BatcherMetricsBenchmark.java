package io.weir.perf.jmh;

import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.HdrHistogram.Recorder;
import org.HdrHistogram.SingleWriterRecorder;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * What the batcher's queue-wait timer costs a request in the Prometheus registry the gateway scrapes:
 * {@code histogram} (buckets from 10 µs to 10 s, as {@code LaneMetrics} registers it now, so that
 * {@code histogram_quantile} gives the p95 across replicas) against the named baseline {@code plain} (count, sum and
 * max only, as before). The workers record it once per request and the compute timer once per batch. Values are
 * log-uniform between 20 µs and 20 ms, the range the batcher's waits take; setup checks that both arms count them.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx1g"})
public class BatcherMetricsBenchmark {
    /**
     * {@code recorder}: one HdrHistogram {@code Recorder} shared by the threads, as the lanes' interval recorders were;
     * {@code thread-recorder}: a {@code SingleWriterRecorder} per thread, as they are now (1 µs to an hour, 2 digits).
     */
    @Param({"histogram", "plain", "recorder", "thread-recorder"})
    public String timer;

    /**
     * Work between two records ({@code Blackhole.consumeCPU} tokens): 0 is back-to-back, the worst case for two
     * workers sharing the timer's buckets; 200 is about what completing a request costs a worker between records.
     */
    @Param({"0", "200"})
    public int between;

    private final long[] waits = new long[4096];
    private Timer queueWait;
    private final Recorder recorder = new Recorder(3);
    private boolean useRecorder;
    private boolean useThreadRecorder;

    @State(Scope.Thread)
    public static class Cursor {
        int next;
        final SingleWriterRecorder own = new SingleWriterRecorder(1_000, 3_600_000_000_000L, 2);
    }

    @Setup
    public void setUp() {
        SplittableRandom random = new SplittableRandom(42);
        for (int i = 0; i < waits.length; i++) {
            waits[i] = (long) (20_000 * Math.pow(1000, random.nextDouble()));
        }
        PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Timer.Builder b = Timer.builder("weir.batcher.queue.wait").tags("model", "m", "version", "1.0.0", "backend", "cpu");
        if (timer.equals("histogram")) {
            b = b.publishPercentileHistogram().minimumExpectedValue(Duration.ofNanos(10_000))
                    .maximumExpectedValue(Duration.ofSeconds(10));
        } else if (!timer.equals("plain") && !timer.equals("recorder") && !timer.equals("thread-recorder")) {
            throw new IllegalArgumentException("timer: histogram, plain, recorder or thread-recorder");
        }
        queueWait = b.register(registry);
        useRecorder = timer.equals("recorder");
        useThreadRecorder = timer.equals("thread-recorder");
        for (long w : waits) {
            queueWait.record(w, TimeUnit.NANOSECONDS);
        }
        String scrape = registry.scrape();
        boolean buckets = scrape.contains("weir_batcher_queue_wait_seconds_bucket{");
        if (queueWait.count() != waits.length || buckets != timer.equals("histogram")) {
            throw new IllegalStateException(timer + ": counted " + queueWait.count() + ", buckets in the scrape " + buckets);
        }
    }

    @Benchmark
    public void record(Cursor c) {
        if (between > 0) {
            Blackhole.consumeCPU(between);
        }
        long wait = waits[c.next++ & (waits.length - 1)];
        if (useRecorder) {
            recorder.recordValue(wait);
        } else if (useThreadRecorder) {
            c.own.recordValue(wait);
        } else {
            queueWait.record(wait, TimeUnit.NANOSECONDS);
        }
    }
}
