package io.weir.chaos.drill;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A drill's verdict, phase by phase, computed from what every request it sent got ({@link Outcome}s). Pure: the same
 * outcomes give the same report, so the rules are tested without a server.
 */
public record DrillReport(String drill, String target, List<PhaseReport> phases, List<Double> clientLagP95Ms) {
    /** A p95 of the client's own send lag above this is reported: the phase's latencies are partly the drill's. */
    static final double CLIENT_LAG_NOTE_MS = 5;

    public DrillReport(String drill, String target, List<PhaseReport> phases) {
        this(drill, target, phases, List.of());
    }

    /**
     * The same report with the p95 of how late the client issued each phase's requests against their schedule
     * (sorted nanoseconds per phase).
     */
    public DrillReport withClientLag(List<long[]> sortedLagNanos) {
        return new DrillReport(drill, target, phases, sortedLagNanos.stream().map(l -> percentileMs(l, 0.95)).toList());
    }

    /** The status recorded for a request that got no answer (timeout, connection refused or reset). */
    public static final int LOST = -1;
    /**
     * The status recorded for a request not sent because its propagated deadline ran out while it waited for a
     * connection ({@code client_deadline_ms}): the client's verdict, shown apart ("unsent") so that a stall of the
     * drill client is not read as the gateway's 504s; a phase that allows 504 allows it.
     */
    public static final int UNSENT = -2;
    private static final int EXAMPLES = 3;
    private static final long WINDOW_NANOS = 1_000_000_000L;
    /** The share of 200s a recovery window needs when the phase names none. */
    private static final double DEFAULT_HEALTHY_SHARE = 0.99;

    /**
     * What one request got.
     *
     * @param phase        index of the phase it was scheduled in
     * @param offsetNanos  its scheduled send, from the start of its phase
     * @param status       the HTTP status, or {@link #LOST}
     * @param latencyNanos from its scheduled send to the end of its answer (so time spent waiting for a connection
     *                     counts: coordinated omission is handled by timing from the schedule)
     * @param problem      what was wrong with the answer itself (another request's id, a 429 without Retry-After, an
     *                     error body out of shape, why it was lost), or null
     * @param crossedChange whether it was still unanswered when the next phase changed the faults: it may have been
     *                     served under either phase's faults, so either phase's statuses are allowed for it
     */
    public record Outcome(int phase, long offsetNanos, int status, long latencyNanos, String problem,
                          boolean crossedChange) {
        public Outcome(int phase, long offsetNanos, int status, long latencyNanos, String problem) {
            this(phase, offsetNanos, status, latencyNanos, problem, false);
        }
    }

    /**
     * @param recoveredAfterS seconds from the phase's start until it turned healthy for good; NaN when the phase has
     *                        no {@code recover_within_s}, infinite when it never did
     * @param failures        why the phase failed; empty when it passed
     */
    public record PhaseReport(String name, double seconds, int sent, Map<Integer, Integer> statuses, int lost,
                              int malformed, List<String> examples, double okP50Ms, double okP95Ms, double okP99Ms,
                              double recoveredAfterS, List<String> failures) {
        public boolean passed() {
            return failures.isEmpty();
        }
    }

    public boolean passed() {
        return phases.stream().allMatch(PhaseReport::passed);
    }

    public static DrillReport of(DrillPlan plan, String target, List<Outcome> outcomes) {
        return of(plan, target, outcomes, Map.of());
    }

    /** @param checks by phase index, what its admin calls' checks found wrong */
    public static DrillReport of(DrillPlan plan, String target, List<Outcome> outcomes, Map<Integer, List<String>> checks) {
        List<List<Outcome>> byPhase = new ArrayList<>();
        plan.phases().forEach(p -> byPhase.add(new ArrayList<>()));
        for (Outcome o : outcomes) {
            byPhase.get(o.phase()).add(o);
        }
        List<PhaseReport> reports = new ArrayList<>();
        for (int i = 0; i < plan.phases().size(); i++) {
            Set<Integer> next = i + 1 < plan.phases().size() ? plan.phases().get(i + 1).expect().statuses() : Set.of();
            reports.add(phase(plan.phases().get(i), byPhase.get(i), next, checks.getOrDefault(i, List.of())));
        }
        return new DrillReport(plan.name(), target, List.copyOf(reports));
    }

    static PhaseReport phase(DrillPlan.Phase phase, List<Outcome> outcomes) {
        return phase(phase, outcomes, Set.of(), List.of());
    }

    static PhaseReport phase(DrillPlan.Phase phase, List<Outcome> outcomes, Set<Integer> nextStatuses) {
        return phase(phase, outcomes, nextStatuses, List.of());
    }

    /**
     * @param nextStatuses the statuses the next phase allows: also allowed for a request that crossed into it
     * @param checks       what the phase's admin checks found wrong: its first failures
     */
    static PhaseReport phase(DrillPlan.Phase phase, List<Outcome> outcomes, Set<Integer> nextStatuses,
                             List<String> checks) {
        DrillPlan.Expectation expect = phase.expect();
        Map<Integer, Integer> statuses = new TreeMap<>();
        Map<Integer, Integer> disallowed = new TreeMap<>();
        int lost = 0;
        int malformed = 0;
        List<String> examples = new ArrayList<>();
        for (Outcome o : outcomes) {
            if (o.status() == LOST) {
                lost++;
            } else {
                statuses.merge(o.status(), 1, Integer::sum);
                int judgedAs = o.status() == UNSENT ? 504 : o.status();
                if (!expect.statuses().contains(judgedAs) && !(o.crossedChange() && nextStatuses.contains(judgedAs))) {
                    disallowed.merge(o.status(), 1, Integer::sum);
                }
                if (o.problem() != null) {
                    malformed++;
                }
            }
            if (o.problem() != null && examples.size() < EXAMPLES) {
                examples.add(o.problem());
            }
        }
        List<String> failures = new ArrayList<>(checks);
        if (outcomes.isEmpty()) {
            failures.add("no request was sent");
        }
        if (lost > 0) {
            failures.add(lost + " request(s) lost: no answer within the timeout");
        }
        if (malformed > 0) {
            failures.add(malformed + " answer(s) malformed");
        }
        disallowed.forEach((status, n) -> failures.add(status == UNSENT
                ? n + " request(s) left unsent, their deadline gone while they waited for a connection (a 504, not"
                        + " allowed here " + expect.statuses() + ")"
                : n + " answer(s) with status " + status + ", not allowed here " + expect.statuses()));
        expect.atLeast().forEach((status, n) -> {
            int seen = statuses.getOrDefault(status, 0);
            if (seen < n) {
                failures.add(seen + " answer(s) with status " + status + ", expected at least " + n + ": the fault was not felt");
            }
        });

        double recovered = Double.NaN;
        long from = 0;
        if (!Double.isNaN(expect.recoverWithinS())) {
            recovered = recoveredAfterSeconds(phase, outcomes);
            if (Double.isInfinite(recovered)) {
                failures.add("did not recover within the phase's " + fmt(phase.seconds()) + " s");
            } else if (recovered > expect.recoverWithinS()) {
                failures.add("recovered after " + fmt(recovered) + " s, expected within " + fmt(expect.recoverWithinS()) + " s");
            }
            from = Double.isInfinite(recovered) ? Long.MAX_VALUE : (long) (recovered * 1e9);
        }
        long start = from;
        List<Outcome> judged = outcomes.stream().filter(o -> o.offsetNanos() >= start).toList();
        long[] ok = okLatencies(judged);
        if (!Double.isNaN(expect.minOkShare()) && !judged.isEmpty()) {
            double share = (double) ok.length / judged.size();
            if (share < expect.minOkShare()) {
                failures.add(String.format(Locale.ROOT, "%.2f%% answered 200%s, expected at least %.2f%%", 100 * share,
                        from > 0 ? " after recovering" : "", 100 * expect.minOkShare()));
            }
        }
        if (!Double.isNaN(expect.maxOkP95Millis()) && !judged.isEmpty()) {
            if (ok.length == 0) {
                failures.add("no 200 answer to hold to a p95 of " + fmt(expect.maxOkP95Millis()) + " ms");
            } else if (percentileMs(ok, 0.95) > expect.maxOkP95Millis()) {
                failures.add("p95 of the 200s " + fmt(percentileMs(ok, 0.95)) + " ms" + (from > 0 ? " after recovering" : "")
                        + ", expected at most " + fmt(expect.maxOkP95Millis()) + " ms");
            }
        }
        // Shown as judged: from the recovery on when the phase has one (all of it if it never recovered).
        long[] all = okLatencies(judged.isEmpty() ? outcomes : judged);
        return new PhaseReport(phase.name(), phase.seconds(), outcomes.size(), Map.copyOf(statuses), lost, malformed,
                List.copyOf(examples), percentileMs(all, 0.50), percentileMs(all, 0.95), percentileMs(all, 0.99),
                recovered, List.copyOf(failures));
    }

    /**
     * The start of the first 1-s window (from the phase's start) after which every window is healthy: at least the
     * phase's share of 200s (99% when it names none), or, when the phase names the statuses its fault causes
     * ({@code recover_from}), none of those; and, when it bounds it, a p95 of the 200s within bound. A window
     * with no request is neither healthy nor unhealthy. Infinite when the last window is not healthy.
     */
    static double recoveredAfterSeconds(DrillPlan.Phase phase, List<Outcome> outcomes) {
        DrillPlan.Expectation expect = phase.expect();
        int windows = (int) Math.ceil(phase.seconds());
        List<List<Outcome>> byWindow = new ArrayList<>();
        for (int w = 0; w < windows; w++) {
            byWindow.add(new ArrayList<>());
        }
        for (Outcome o : outcomes) {
            byWindow.get((int) Math.min(windows - 1, o.offsetNanos() / WINDOW_NANOS)).add(o);
        }
        double share = Double.isNaN(expect.minOkShare()) ? DEFAULT_HEALTHY_SHARE : expect.minOkShare();
        int recoveredAt = windows;
        for (int w = windows - 1; w >= 0; w--) {
            List<Outcome> in = byWindow.get(w);
            if (in.isEmpty()) {
                continue;
            }
            long[] ok = okLatencies(in);
            boolean answered = expect.recoverFrom().isEmpty() ? (double) ok.length / in.size() >= share
                    : in.stream().noneMatch(o -> o.status() == LOST
                            || expect.recoverFrom().contains(o.status() == UNSENT ? 504 : o.status()));
            boolean healthy = answered
                    && (Double.isNaN(expect.maxOkP95Millis()) || ok.length > 0 && percentileMs(ok, 0.95) <= expect.maxOkP95Millis());
            if (!healthy) {
                break;
            }
            recoveredAt = w;
        }
        return recoveredAt == windows ? Double.POSITIVE_INFINITY : recoveredAt;
    }

    private static long[] okLatencies(List<Outcome> outcomes) {
        long[] ok = outcomes.stream().filter(o -> o.status() == 200 && o.problem() == null).mapToLong(Outcome::latencyNanos).toArray();
        Arrays.sort(ok);
        return ok;
    }

    /** Nearest-rank percentile of sorted nanoseconds, in ms; NaN for none. */
    static double percentileMs(long[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        int rank = (int) Math.ceil(q * sorted.length);
        return sorted[Math.max(0, rank - 1)] / 1e6;
    }

    private static String fmt(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    /** The report as a person reads it: one line a phase, then what failed. */
    public String toText() {
        StringBuilder out = new StringBuilder();
        out.append("drill ").append(drill).append(" against ").append(target).append(": ")
                .append(passed() ? "PASSED" : "FAILED").append('\n');
        out.append(String.format(Locale.ROOT, "%-20s %6s %7s %-28s %5s %9s %22s %10s  %s%n", "phase", "s", "sent",
                "answers by status", "lost", "malformed", "200s p50/p95/p99 ms", "recovered", "verdict"));
        for (PhaseReport p : phases) {
            StringBuilder byStatus = new StringBuilder();
            p.statuses().entrySet().stream().sorted(Map.Entry.comparingByKey())
                    .forEach(e -> byStatus.append(byStatus.isEmpty() ? "" : " ").append(label(e.getKey())).append(':')
                            .append(e.getValue()));
            String recovered = Double.isNaN(p.recoveredAfterS()) ? "-"
                    : Double.isInfinite(p.recoveredAfterS()) ? "never" : fmt(p.recoveredAfterS()) + " s";
            out.append(String.format(Locale.ROOT, "%-20s %6.1f %7d %-28s %5d %9d %22s %10s  %s%n", clip(p.name()),
                    p.seconds(), p.sent(), byStatus, p.lost(), p.malformed(),
                    p.okP50Ms() >= 0 ? fmt(p.okP50Ms()) + " / " + fmt(p.okP95Ms()) + " / " + fmt(p.okP99Ms()) : "-", recovered,
                    p.passed() ? "ok" : "FAILED"));
        }
        for (int i = 0; i < Math.min(phases.size(), clientLagP95Ms.size()); i++) {
            double lag = clientLagP95Ms.get(i);
            if (lag > CLIENT_LAG_NOTE_MS) {
                out.append(String.format(Locale.ROOT, "  %s: the drill client itself issued its requests up to %.1f ms"
                        + " late (p95): the latencies include that; on a shared or small machine lower the rate or run"
                        + " the drill from elsewhere%n", phases.get(i).name(), lag));
            }
        }
        if (phases.stream().anyMatch(p -> Double.isFinite(p.recoveredAfterS()))) {
            out.append("  (the 200s' percentiles of a phase that recovered count from its recovery)\n");
        }
        for (PhaseReport p : phases) {
            for (String f : p.failures()) {
                out.append("  ").append(p.name()).append(": ").append(f).append('\n');
            }
            for (String e : p.examples()) {
                out.append("  ").append(p.name()).append(", for example: ").append(e).append('\n');
            }
        }
        return out.toString();
    }

    private static String label(int status) {
        return status == UNSENT ? "unsent" : Integer.toString(status);
    }

    private static String clip(String s) {
        return s.length() <= 20 ? s : s.substring(0, 19) + "…";
    }

    public JsonObject toJson() {
        JsonArray ps = new JsonArray();
        for (PhaseReport p : phases) {
            JsonObject statuses = new JsonObject();
            p.statuses().forEach((k, v) -> statuses.put(label(k), v));
            ps.add(new JsonObject().put("name", p.name()).put("seconds", p.seconds()).put("sent", p.sent())
                    .put("statuses", statuses).put("lost", p.lost()).put("malformed", p.malformed())
                    .put("examples", new JsonArray(p.examples()))
                    .put("ok_p50_ms", finiteOrNull(p.okP50Ms())).put("ok_p95_ms", finiteOrNull(p.okP95Ms()))
                    .put("ok_p99_ms", finiteOrNull(p.okP99Ms()))
                    .put("recovered_after_s", Double.isInfinite(p.recoveredAfterS()) ? "never" : finiteOrNull(p.recoveredAfterS()))
                    .put("passed", p.passed()).put("failures", new JsonArray(p.failures())));
        }
        for (int i = 0; i < Math.min(ps.size(), clientLagP95Ms.size()); i++) {
            ps.getJsonObject(i).put("client_send_lag_p95_ms", finiteOrNull(clientLagP95Ms.get(i)));
        }
        return new JsonObject().put("drill", drill).put("target", target).put("passed", passed()).put("phases", ps);
    }

    private static Object finiteOrNull(double v) {
        return Double.isFinite(v) ? v : null;
    }
}
