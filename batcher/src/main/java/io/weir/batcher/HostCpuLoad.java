package io.weir.batcher;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

/**
 * The host's CPU load, 0 to 1, sampled off the request path: what the adaptive batching policy reads to tell that
 * its workers share the cores with the HTTP path ({@code PendingView.cpuLoad()}).
 *
 * <p>Design note. One daemon thread asks the JDK's {@code OperatingSystemMXBean.getCpuLoad()} every
 * {@code interval}; the JDK reads the container's cgroup CPU usage where a quota is set and {@code /proc/stat}
 * otherwise, as the share used since its previous call, so each sample covers exactly one interval. Samples are
 * smoothed exponentially (weight {@code alpha} for the newest) and published through a volatile; readers never
 * block and never make a system call. A platform without the reading (getCpuLoad &lt; 0) reads as 0: the policy then
 * behaves as if the cores were its own. Where the process is pinned to some of the host's CPUs, the sampler reads
 * those CPUs' load from {@code /proc/stat} instead ({@link CpuSetLoad}): the JDK would average over every CPU.
 */
public final class HostCpuLoad implements DoubleSupplier, AutoCloseable {
    static final Duration SAMPLE_INTERVAL = Duration.ofMillis(100);
    static final double SAMPLE_WEIGHT = 0.2;

    private final DoubleSupplier source;
    private final double alpha;
    private final ScheduledExecutorService sampler;
    private final String description;
    private volatile double load;

    /** A reading fed by {@code source} each time {@link #sample()} runs; {@code sampler} (may be null) runs it. */
    HostCpuLoad(DoubleSupplier source, double alpha, ScheduledExecutorService sampler) {
        this(source, alpha, sampler, "a test's source");
    }

    private HostCpuLoad(DoubleSupplier source, double alpha, ScheduledExecutorService sampler, String description) {
        this.source = source;
        this.alpha = alpha;
        this.sampler = sampler;
        this.description = description;
    }

    private static final class Shared {
        static final HostCpuLoad INSTANCE = start();
    }

    /** The process's one sampler, started on first use and never closed (a daemon thread waking every 100 ms). */
    public static HostCpuLoad shared() {
        return Shared.INSTANCE;
    }

    /**
     * Samples every 100 ms and smooths over about half a second: a burst of a few hundred milliseconds (a GC, the JIT,
     * the load generator's own pauses) moves it little, a load that stays follows within a second or two. With 50 ms
     * samples smoothed over 150 ms the reading crossed the policy's then 0.85 threshold at 25% of capacity on 2 shared
     * cores.
     */
    public static HostCpuLoad start() {
        return start(SAMPLE_INTERVAL, SAMPLE_WEIGHT);
    }

    public static HostCpuLoad start(Duration interval, double alpha) {
        if (interval.isNegative() || interval.isZero() || !(alpha > 0 && alpha <= 1)) {
            throw new IllegalArgumentException("interval must be positive and alpha in (0, 1]");
        }
        DoubleSupplier source;
        String description;
        CpuSetLoad pinned = CpuSetLoad.forThisProcess().orElse(null);
        if (pinned != null) {
            source = pinned;
            description = "CPUs " + pinned.cpus() + " (this process's affinity), from /proc/stat";
        } else {
            com.sun.management.OperatingSystemMXBean os =
                    ManagementFactory.getPlatformMXBean(com.sun.management.OperatingSystemMXBean.class);
            os.getCpuLoad(); // the first call only sets the baseline
            source = os::getCpuLoad;
            description = "the whole host (or the container's CPU share), from the JDK";
        }
        ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("weir-cpu-load").factory());
        HostCpuLoad load = new HostCpuLoad(source, alpha, sampler, description);
        sampler.scheduleAtFixedRate(load::sample, interval.toNanos(), interval.toNanos(), TimeUnit.NANOSECONDS);
        return load;
    }

    /** Takes one sample (the sampler thread only, or a test). */
    void sample() {
        double now = source.getAsDouble();
        if (now >= 0 && now <= 1) {
            load = load + alpha * (now - load);
        }
    }

    /** Which CPUs the reading covers, for the log. */
    public String description() {
        return description;
    }

    @Override
    public double getAsDouble() {
        return load;
    }

    @Override
    public void close() {
        if (sampler != null) {
            sampler.shutdownNow();
        }
    }
}
