package io.weir.batcher;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Deque;
import java.util.List;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

/**
 * The pinned-process reading: only the CPUs in the affinity list count, idle includes iowait, and a process that may
 * run anywhere is left to the JDK's reading.
 */
class CpuSetLoadTest {

    /** A /proc/stat of four CPUs whose cumulative times are given per CPU as {busy, idle}. */
    private static List<String> stat(long[]... perCpu) {
        List<String> lines = new ArrayList<>();
        lines.add("cpu  0 0 0 0 0 0 0 0 0 0");
        for (int cpu = 0; cpu < perCpu.length; cpu++) {
            long busy = perCpu[cpu][0];
            long idle = perCpu[cpu][1];
            // user nice system idle iowait irq softirq steal guest guest_nice: busy split over user and system,
            // a quarter of idle as iowait; guest (already inside user) must not count twice.
            lines.add("cpu" + cpu + " " + (busy - busy / 3) + " 0 " + busy / 3 + " " + (idle - idle / 4) + " " + idle / 4
                    + " 0 0 0 " + busy / 2 + " 0");
        }
        lines.add("intr 12345 0 0");
        lines.add("ctxt 987654");
        return lines;
    }

    private static List<String> status(String allowed) {
        return List.of("Name:\tjava", "Cpus_allowed:\tf", "Cpus_allowed_list:\t" + allowed, "Mems_allowed_list:\t0");
    }

    @Test
    void readsOnlyTheAllowedCpus() {
        Deque<List<String>> readings = new ArrayDeque<>(List.of(
                stat(new long[] {1000, 1000}, new long[] {1000, 1000}, new long[] {0, 5000}, new long[] {0, 5000}),
                // CPUs 0 and 1 fully busy for 100 ticks; 2 and 3 (not ours) idle
                stat(new long[] {1100, 1000}, new long[] {1100, 1000}, new long[] {0, 5100}, new long[] {0, 5100}),
                // CPU 0 busy 50 of 100, CPU 1 busy 30 of 100; 2 and 3 fully busy
                stat(new long[] {1150, 1050}, new long[] {1130, 1070}, new long[] {100, 5100}, new long[] {100, 5100})));
        CpuSetLoad load = CpuSetLoad.forProcess(status("0-1"), readings.peek(), readings::poll).orElseThrow();

        assertThat(load.cpus()).isEqualTo("{0, 1}");
        assertThat(load.getAsDouble()).isCloseTo(1.0, within(1e-9));
        assertThat(load.getAsDouble()).isCloseTo(0.4, within(1e-9));
    }

    @Test
    void aProcessAllowedEveryOnlineCpuIsLeftToTheJdk() {
        List<String> now = stat(new long[] {1, 1}, new long[] {1, 1}, new long[] {1, 1}, new long[] {1, 1});
        assertThat(CpuSetLoad.forProcess(status("0-3"), now, () -> now)).isEmpty();
        // CPUs listed as allowed but not online (a mask wider than the machine) are not a pin either
        assertThat(CpuSetLoad.forProcess(status("0-63"), now, () -> now)).isEmpty();
        assertThat(CpuSetLoad.forProcess(List.of("Name:\tjava"), now, () -> now)).isEmpty();
    }

    @Test
    void noTimePassedOrAnUnreadableOrGarbledFileReadsAsNoSample() {
        List<String> same = stat(new long[] {10, 10}, new long[] {10, 10}, new long[] {10, 10}, new long[] {10, 10});
        Optional<CpuSetLoad> load = CpuSetLoad.forProcess(status("2"), same, () -> same);
        assertThat(load).isPresent();
        assertThat(load.get().getAsDouble()).isEqualTo(-1);

        CpuSetLoad failing = new CpuSetLoad(CpuSetLoad.parseCpuList("0"), () -> {
            throw new UncheckedIOException(new IOException("gone"));
        });
        assertThat(failing.getAsDouble()).isEqualTo(-1);
        CpuSetLoad garbled = new CpuSetLoad(CpuSetLoad.parseCpuList("0"), () -> List.of("cpu0 12 x 3", "cpu0 1"));
        assertThat(garbled.getAsDouble()).isEqualTo(-1);
    }

    @Test
    void parsesCpuLists() {
        BitSet set = CpuSetLoad.parseCpuList(" 0-2,5,8-9\n");
        assertThat(set.toString()).isEqualTo("{0, 1, 2, 5, 8, 9}");
        assertThatThrownBy(() -> CpuSetLoad.parseCpuList("3-1")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> CpuSetLoad.parseCpuList("a-b")).isInstanceOf(IllegalArgumentException.class);
    }
}
