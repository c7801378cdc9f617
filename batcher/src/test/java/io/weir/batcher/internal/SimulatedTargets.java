package io.weir.batcher.internal;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.ToDoubleFunction;

/**
 * The policy targets judged on simulated sweeps ({@link PolicySimulation}): per policy and rate the median
 * over seeds of p95, p99, goodput and the share not answered 200. Target 1: {@code adaptive}'s highest rate within
 * budget (p95 inside it, at most 1% not 200) is at least the best fixed setting's. Target 2: at every rate
 * {@code adaptive}'s p95 is within 10% of the lowest fixed setting's. Target 3: at twice the capacity, goodput at
 * least 90% of the capacity and the p99 of admitted requests inside the budget.
 */
final class SimulatedTargets {
    private SimulatedTargets() {
    }

    record Point(double p95, double p99, double goodput, double notOk, double budget) {
        boolean withinBudget() {
            return p95 <= budget && notOk <= 0.01;
        }
    }

    static Point median(List<PolicySimulation.Result> runs) {
        return new Point(median(runs, PolicySimulation.Result::p95Ms), median(runs, PolicySimulation.Result::p99Ms),
                median(runs, PolicySimulation.Result::goodputPerSecond), median(runs, PolicySimulation.Result::notOkShare),
                runs.getFirst().scenario().model().budgetMs());
    }

    private static double median(List<PolicySimulation.Result> runs, ToDoubleFunction<PolicySimulation.Result> f) {
        double[] v = runs.stream().mapToDouble(f).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    /** The verdicts as text: a table of p95 per policy and rate, then each target. */
    static String judge(String model, double capacity, Map<String, Map<Double, List<PolicySimulation.Result>>> results) {
        StringBuilder out = new StringBuilder();
        TreeSet<Double> rates = new TreeSet<>();
        results.values().forEach(byRate -> rates.addAll(byRate.keySet()));
        out.append(String.format(Locale.ROOT, "%n%s, capacity %.0f/s: p95 ms (share not 200 when over 1%%)%n", model, capacity));
        out.append(String.format(Locale.ROOT, "%-12s", "policy"));
        rates.forEach(r -> out.append(String.format(Locale.ROOT, "%14s", String.format(Locale.ROOT, "%.0f%%", 100 * r / capacity))));
        out.append('\n');
        for (var e : results.entrySet()) {
            out.append(String.format(Locale.ROOT, "%-12s", e.getKey()));
            for (double r : rates) {
                List<PolicySimulation.Result> runs = e.getValue().get(r);
                if (runs == null) {
                    out.append(String.format(Locale.ROOT, "%14s", "-"));
                    continue;
                }
                Point p = median(runs);
                out.append(String.format(Locale.ROOT, "%14s", p.notOk > 0.01
                        ? String.format(Locale.ROOT, "%.1f (%.0f%%)", p.p95, 100 * p.notOk) : String.format(Locale.ROOT, "%.2f", p.p95)));
            }
            out.append('\n');
        }
        Map<Double, List<PolicySimulation.Result>> adaptive = results.get("adaptive");
        List<String> fixed = new ArrayList<>(results.keySet().stream().filter(p -> p.startsWith("fixed-")).toList());
        if (adaptive == null || fixed.isEmpty()) {
            return out.append("(targets need adaptive and at least one fixed setting)\n").toString();
        }
        double adaptiveHighest = highestWithinBudget(adaptive);
        String bestFixed = fixed.stream().max(Comparator.comparingDouble(p -> highestWithinBudget(results.get(p)))).orElseThrow();
        double fixedHighest = highestWithinBudget(results.get(bestFixed));
        out.append(String.format(Locale.ROOT, "target 1: adaptive's highest rate within budget %.0f, best fixed (%s) %.0f: %s%n",
                adaptiveHighest, bestFixed, fixedHighest, adaptiveHighest >= fixedHighest ? "met" : "NOT met"));
        int within = 0;
        int compared = 0;
        StringBuilder misses = new StringBuilder();
        for (double r : rates) {
            List<PolicySimulation.Result> a = adaptive.get(r);
            if (a == null) {
                continue;
            }
            double best = Double.MAX_VALUE;
            String bestName = null;
            for (String f : fixed) {
                List<PolicySimulation.Result> runs = results.get(f).get(r);
                if (runs != null && median(runs).p95 < best) {
                    best = median(runs).p95;
                    bestName = f;
                }
            }
            if (bestName == null) {
                continue;
            }
            compared++;
            double mine = median(a).p95;
            if (mine <= 1.1 * best) {
                within++;
            } else {
                misses.append(String.format(Locale.ROOT, " %.0f%% (%.2f against %s %.2f)", 100 * r / capacity, mine, bestName, best));
            }
        }
        out.append(String.format(Locale.ROOT, "target 2: adaptive's p95 within 10%% of the best fixed setting at %d of %d rates: %s%s%n",
                within, compared, within == compared ? "met" : "NOT met;", misses));
        List<PolicySimulation.Result> twice = adaptive.get(2 * capacity);
        if (twice != null) {
            Point p = median(twice);
            boolean met = p.goodput >= 0.9 * capacity && p.p99 <= p.budget;
            out.append(String.format(Locale.ROOT, "target 3: at 2x, goodput %.0f%% of capacity, admitted p99 %.1f ms: %s%n",
                    100 * p.goodput / capacity, p.p99, met ? "met" : "NOT met"));
        }
        return out.toString();
    }

    private static double highestWithinBudget(Map<Double, List<PolicySimulation.Result>> byRate) {
        double highest = 0;
        for (var e : byRate.entrySet()) {
            if (median(e.getValue()).withinBudget()) {
                highest = Math.max(highest, e.getKey());
            }
        }
        return highest;
    }
}
