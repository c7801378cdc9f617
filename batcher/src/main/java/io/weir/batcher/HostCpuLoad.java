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
 * behaves as if the cores were its own.
 */
public final class HostCpuLoad implements DoubleSupplier, AutoCloseable {
    private final com.sun.management.OperatingSystemMXBean os;
    private final ScheduledExecutorService sampler;
    private final double alpha;
    private volatile double load;

    private HostCpuLoad(Duration interval, double alpha) {
        this.os = ManagementFactory.getPlatformMXBean(com.sun.management.OperatingSystemMXBean.class);
        this.alpha = alpha;
        this.sampler = Executors.newSingleThreadScheduledExecutor(
                Thread.ofPlatform().daemon().name("weir-cpu-load").factory());
        os.getCpuLoad(); // the first call only sets the baseline
        sampler.scheduleAtFixedRate(this::sample, interval.toNanos(), interval.toNanos(), TimeUnit.NANOSECONDS);
    }

    private static final class Shared {
        static final HostCpuLoad INSTANCE = start();
    }

    /** The process's one sampler, started on first use and never closed (a daemon thread waking every 50 ms). */
    public static HostCpuLoad shared() {
        return Shared.INSTANCE;
    }

    /** Samples every 50 ms and smooths over about 150 ms: fast enough to follow a load step within a second. */
    public static HostCpuLoad start() {
        return start(Duration.ofMillis(50), 0.3);
    }

    public static HostCpuLoad start(Duration interval, double alpha) {
        if (interval.isNegative() || interval.isZero() || !(alpha > 0 && alpha <= 1)) {
            throw new IllegalArgumentException("interval must be positive and alpha in (0, 1]");
        }
        return new HostCpuLoad(interval, alpha);
    }

    private void sample() {
        double now = os.getCpuLoad();
        if (now >= 0 && now <= 1) {
            load = load + alpha * (now - load);
        }
    }

    @Override
    public double getAsDouble() {
        return load;
    }

    @Override
    public void close() {
        sampler.shutdownNow();
    }
}
