package io.weir.router.internal;

import io.weir.router.RolloutConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** Judges one closed window against a rollout's gates. Pure: the guard decides what a failure does. */
public final class Gates {
    private Gates() {
    }

    /**
     * Every gate the window fails, each saying what was measured against which threshold; empty when it passes.
     * Statistics with fewer than {@code min_window_requests} samples are not judged, and score drift not
     * before each arm has {@link #psiMinRows} scored rows. Shadow gates judge the shadow
     * only when it runs the canary's version (a shadow of another version says nothing about this canary). Every
     * comparison is written to pass only when the measure is within its threshold ({@code !(x <= max)} fails), so a
     * NaN measure fails its gate rather than slipping past it.
     *
     * @param budgetMs the canary version's latency budget, the p95 ceiling unless the gates set one; NaN if unknown
     */
    public static List<String> failures(RolloutConfig cfg, WindowStats.Snapshot w, double budgetMs) {
        RolloutConfig.Gates g = cfg.gates();
        long min = g.minWindowRequests();
        List<String> out = new ArrayList<>();
        WindowStats.ArmSnapshot c = w.canary();
        WindowStats.ArmSnapshot p = w.primary();
        if (c.requests() >= min && g.maxErrorRate() != null && !(c.errorRate() <= g.maxErrorRate())) {
            out.add(String.format(Locale.ROOT, "canary error rate %.2f%% (%d of %d) above %.2f%%",
                    100 * c.errorRate(), c.errors(), c.requests(), 100 * g.maxErrorRate()));
        }
        if (c.latencySamples() >= min) {
            double ceiling = g.maxP95Ms() != null ? g.maxP95Ms() : budgetMs;
            if (!Double.isNaN(ceiling) && !(c.p95Ms() <= ceiling)) {
                out.add(String.format(Locale.ROOT, "canary p95 %.1f ms above the %.1f ms budget", c.p95Ms(), ceiling));
            }
            if (g.maxP95RatioVsPrimary() != null && p.latencySamples() >= min
                    && !(c.p95Ms() <= g.maxP95RatioVsPrimary() * p.p95Ms())) {
                out.add(String.format(Locale.ROOT, "canary p95 %.1f ms above %.2fx the primary's %.1f ms",
                        c.p95Ms(), g.maxP95RatioVsPrimary(), p.p95Ms()));
            }
        }
        if (g.maxPsi() != null && c.scored() >= Math.max(min, psiMinRows(g.maxPsi()))
                && p.scored() >= Math.max(min, psiMinRows(g.maxPsi()))) {
            double psi = WindowStats.psi(p.scoreBins(), c.scoreBins());
            if (!(psi <= g.maxPsi())) {
                out.add(String.format(Locale.ROOT, "canary score drift PSI %.3f above %.3f", psi, g.maxPsi()));
            }
        }
        WindowStats.ShadowSnapshot s = w.shadow();
        if (w.canaryVersion() != null && w.canaryVersion().equals(w.shadowVersion())) {
            long attempts = s.comparisons() + s.failures();
            if (attempts >= min && g.maxErrorRate() != null && !((double) s.failures() / attempts <= g.maxErrorRate())) {
                out.add(String.format(Locale.ROOT, "shadow error rate %.2f%% (%d of %d) above %.2f%%",
                        100.0 * s.failures() / attempts, s.failures(), attempts, 100 * g.maxErrorRate()));
            }
            if (s.comparisons() >= min) {
                if (g.minShadowLabelAgreement() != null && s.labelRows() > 0
                        && !(s.labelAgreement() >= g.minShadowLabelAgreement())) {
                    out.add(String.format(Locale.ROOT, "shadow label agreement %.2f%% below %.2f%%",
                            100 * s.labelAgreement(), 100 * g.minShadowLabelAgreement()));
                }
                if (g.maxShadowMeanAbsDiff() != null && s.rows() > 0 && !(s.meanAbsDiff() <= g.maxShadowMeanAbsDiff())) {
                    out.add(String.format(Locale.ROOT, "shadow mean |score diff| %.4f above %.4f", s.meanAbsDiff(),
                            g.maxShadowMeanAbsDiff()));
                }
            }
        }
        return out;
    }

    /**
     * Scored rows each arm needs before its drift is judged. Two samples of one distribution differ by chance: their
     * PSI over {@code B} bins is about {@code (B - 1)(1/n1 + 1/n2)}, 0.36 for 50 rows a side over 10 bins, above the
     * default threshold of 0.25, so a healthy one-row-a-request canary was rolled back on noise. With this many rows
     * a side the chance part stays under a third of the threshold.
     */
    static long psiMinRows(double maxPsi) {
        return maxPsi > 0 ? (long) Math.ceil(6.0 * (WindowStats.SCORE_BINS - 1) / maxPsi) : 0;
    }
}
