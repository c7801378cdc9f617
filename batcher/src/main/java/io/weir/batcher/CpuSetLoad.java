package io.weir.batcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.List;
import java.util.Optional;
import java.util.function.DoubleSupplier;
import java.util.function.Supplier;

/**
 * The load of the CPUs this process may run on, from the per-CPU lines of {@code /proc/stat}: the share of their time
 * busy since the previous reading. {@link HostCpuLoad} reads it where the process is pinned to a subset of the host's
 * CPUs ({@code taskset}, {@code numactl}, a CPU manager that sets affinity), because the JDK's
 * {@code getCpuLoad()} then averages over every CPU of the host: a gateway pinned to 2 of 16 CPUs would read its own
 * saturated cores as 12% busy, and the adaptive policy would never see the pressure it batches against. (Inside a
 * container the JDK reads the cgroup's quota or cpuset itself; the affinity list is the cpuset there, so for a cpuset
 * without a quota the two readings agree.)
 *
 * <p>Design note. Not thread-safe: one sampler thread calls {@link #getAsDouble()} (HostCpuLoad's), which keeps the
 * previous totals. A CPU's time is its first eight fields (user, nice, system, idle, iowait, irq, softirq, steal;
 * guest time is already inside user); idle is idle + iowait. A reading with no time passed, or a file that cannot be
 * read or parsed, is -1, which HostCpuLoad skips (an exception would end its scheduled sampling for good).
 */
final class CpuSetLoad implements DoubleSupplier {
    private static final Path STAT = Path.of("/proc/stat");
    private static final Path STATUS = Path.of("/proc/self/status");

    private final BitSet cpus;
    private final Supplier<List<String>> stat;
    private long lastBusy = -1;
    private long lastTotal = -1;

    CpuSetLoad(BitSet cpus, Supplier<List<String>> stat) {
        this.cpus = (BitSet) cpus.clone();
        this.stat = stat;
    }

    /**
     * The reading for this process when its affinity leaves out some of the host's online CPUs; empty when it may run
     * on all of them (the JDK's reading is then the right one) or where {@code /proc} does not say.
     */
    static Optional<CpuSetLoad> forThisProcess() {
        try {
            return forProcess(Files.readAllLines(STATUS), Files.readAllLines(STAT), () -> readLines(STAT));
        } catch (IOException | UncheckedIOException | IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    static Optional<CpuSetLoad> forProcess(List<String> status, List<String> statNow, Supplier<List<String>> stat) {
        BitSet allowed = status.stream().filter(l -> l.startsWith("Cpus_allowed_list:")).findFirst()
                .map(l -> parseCpuList(l.substring("Cpus_allowed_list:".length()))).orElse(null);
        if (allowed == null || allowed.isEmpty()) {
            return Optional.empty();
        }
        BitSet online = new BitSet();
        for (String line : statNow) {
            int cpu = cpuOf(line);
            if (cpu >= 0) {
                online.set(cpu);
            }
        }
        BitSet usable = (BitSet) allowed.clone();
        usable.and(online);
        if (usable.isEmpty() || usable.cardinality() == online.cardinality()) {
            return Optional.empty();
        }
        CpuSetLoad load = new CpuSetLoad(usable, stat);
        load.getAsDouble(); // the first reading only sets the baseline
        return Optional.of(load);
    }

    /** "0-3,8,10-11" as a set; IllegalArgumentException when it is not such a list. */
    static BitSet parseCpuList(String list) {
        BitSet set = new BitSet();
        for (String part : list.strip().split(",")) {
            if (part.isEmpty()) {
                continue;
            }
            int dash = part.indexOf('-');
            try {
                int from = Integer.parseInt(dash < 0 ? part : part.substring(0, dash));
                int to = dash < 0 ? from : Integer.parseInt(part.substring(dash + 1));
                if (from < 0 || to < from) {
                    throw new IllegalArgumentException("bad CPU range '" + part + "'");
                }
                set.set(from, to + 1);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("bad CPU list '" + list + "'", e);
            }
        }
        return set;
    }

    /** The CPU number of a "cpuN ..." line of /proc/stat, or -1 (the aggregate "cpu " line and every other line). */
    private static int cpuOf(String line) {
        if (!line.startsWith("cpu") || line.length() < 4 || !Character.isDigit(line.charAt(3))) {
            return -1;
        }
        int end = 3;
        while (end < line.length() && Character.isDigit(line.charAt(end))) {
            end++;
        }
        return Integer.parseInt(line, 3, end, 10);
    }

    /** A description for the log: which CPUs are read. */
    String cpus() {
        return cpus.toString();
    }

    @Override
    public double getAsDouble() {
        long busy = 0;
        long total = 0;
        try {
            for (String line : stat.get()) {
                int cpu = cpuOf(line);
                if (cpu < 0 || !cpus.get(cpu)) {
                    continue;
                }
                String[] f = line.split("\\s+");
                long cpuTotal = 0;
                for (int i = 1; i <= 8 && i < f.length; i++) {
                    cpuTotal += Long.parseLong(f[i]);
                }
                long idle = Long.parseLong(f[4]) + (f.length > 5 ? Long.parseLong(f[5]) : 0);
                total += cpuTotal;
                busy += cpuTotal - idle;
            }
        } catch (UncheckedIOException | NumberFormatException | IndexOutOfBoundsException e) {
            return -1;
        }
        long dBusy = busy - lastBusy;
        long dTotal = total - lastTotal;
        boolean first = lastTotal < 0;
        lastBusy = busy;
        lastTotal = total;
        if (first || dTotal <= 0 || dBusy < 0) {
            return -1;
        }
        return Math.min(1.0, (double) dBusy / dTotal);
    }

    private static List<String> readLines(Path path) {
        try {
            return Files.readAllLines(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
