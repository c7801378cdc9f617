package io.weir.perf.gatling;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The policies of an interleaved sweep ({@code weir.sweep.policyFile}: {@code label<TAB>policy JSON} lines, written by
 * {@code perf/sweep/run-sweep.sh --interleave}), the order they are measured in at each rate, which slice a request
 * counts for, and how bunched a slice's arrivals were.
 */
final class InterleavedPolicies {
    private InterleavedPolicies() {
    }

    /** Label to JSON in file order; empty for an empty path (no interleaving). Malformed lines fail with the line. */
    static Map<String, String> read(String file) {
        Map<String, String> out = new LinkedHashMap<>();
        if (file.isEmpty()) {
            return out;
        }
        try {
            for (String line : Files.readAllLines(Path.of(file))) {
                if (line.isBlank()) {
                    continue;
                }
                String[] kv = line.split("\t", 2);
                if (kv.length != 2 || kv[0].isBlank() || !kv[1].trim().startsWith("{")
                        || out.put(kv[0].trim(), kv[1].trim()) != null) {
                    throw new IllegalArgumentException("weir.sweep.policyFile: want 'label<TAB>{json}' lines with unique labels; got: " + line);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("weir.sweep.policyFile " + file + " lists no policy");
        }
        return out;
    }

    /**
     * The measurement order: for each rate, every label once, shuffled from {@code seed} (the same seed gives the same
     * order, so a run can be repeated; runs with other seeds put the policies in other places and next to others).
     */
    static List<List<String>> order(List<String> labels, int rates, long seed) {
        Random random = new Random(seed);
        List<List<String>> out = new ArrayList<>();
        for (int i = 0; i < rates; i++) {
            List<String> policies = new ArrayList<>(labels);
            Collections.shuffle(policies, random);
            out.add(List.copyOf(policies));
        }
        return out;
    }

    /**
     * The round-robin slice whose policy a request arriving at {@code arrival} is counted for, or -1: the latest slice
     * whose switch was sent at or before the arrival, if the gateway acknowledged that switch at least {@code guard}
     * before the arrival and the next switch was not sent within {@code tail} after it (nor the span ended).
     *
     * @param sent when each slice's switch was sent (0: not yet sent), in arrival order
     * @param done when the gateway acknowledged it (-1: never)
     */
    static int sliceInForce(long arrival, long[] sent, long[] done, long spanEnd, long guard, long tail) {
        int k = -1;
        for (int i = 0; i < sent.length && sent[i] != 0 && sent[i] <= arrival; i++) {
            k = i;
        }
        if (k < 0 || done[k] < 0 || arrival < done[k] + guard) {
            return -1;
        }
        long next = k + 1 < sent.length && sent[k + 1] != 0 ? sent[k + 1] : spanEnd;
        return arrival < Math.min(next, spanEnd) - tail ? k : -1;
    }

    /**
     * How long round-robin slice {@code k} counted arrivals, in ns: the span in which {@link #sliceInForce} answers
     * {@code k}, from its switch's acknowledgement plus the guard to the tail before the next switch was sent (or
     * before the span's end); 0 when its switch was never sent or never acknowledged. A switch the gateway acknowledges
     * late shortens its slice, so the slice's answers per second are its answers over this span, not over the nominal
     * slice (the acknowledgement took tens of ms at half load and up to several hundred at 2x).
     */
    static long countingNanos(int k, long[] sent, long[] done, long spanEnd, long guard, long tail) {
        for (int i = 0; i <= k; i++) {
            if (sent[i] == 0) {
                return 0;   // sliceInForce never looks past a switch not yet sent
            }
        }
        if (done[k] < 0) {
            return 0;
        }
        long next = k + 1 < sent.length && sent[k + 1] != 0 ? sent[k + 1] : spanEnd;
        return Math.max(0, Math.min(next, spanEnd) - tail - (done[k] + guard));
    }

    /**
     * How bunched arrivals are: the 99th percentile and the maximum of the arrivals counted in each {@code binNanos}
     * bin from the first arrival to the last, as "p99/max" ("-" for none). A Poisson stream at 3375/s gives about 49/56
     * in 10 ms bins; a generator that falls behind and catches up shows larger numbers.
     */
    static String burstiness(long[] arrivals, long binNanos) {
        if (arrivals.length == 0) {
            return "-";
        }
        long first = Arrays.stream(arrivals).min().getAsLong();
        long last = Arrays.stream(arrivals).max().getAsLong();
        long[] counts = new long[(int) ((last - first) / binNanos) + 1];
        for (long a : arrivals) {
            counts[(int) ((a - first) / binNanos)]++;
        }
        Arrays.sort(counts);
        return PolicySweepSimulation.pct(counts, 99) + "/" + counts[counts.length - 1];
    }
}
