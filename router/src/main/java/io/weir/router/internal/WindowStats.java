package io.weir.router.internal;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.HdrHistogram.ConcurrentHistogram;
import org.HdrHistogram.Histogram;

import java.nio.ByteBuffer;
import java.util.Base64;
import java.util.Objects;
import java.util.zip.DataFormatException;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * One evaluation window of a model's rollout: what the primary and the canary served and what the shadow comparisons
 * found, for the versions the window was opened for.
 *
 * <p>Design: recorders (event loops, shadow workers) only add to striped counters and a concurrent histogram; the
 * guard thread closes the window by swapping a fresh one in ({@link RolloutStats#drain}) and then reads the closed one.
 * A record that loaded the window just before the swap may land in the closed window after it was read; the window
 * loses at most that handful of samples, which does not move a rate or a percentile over a whole window. A part too
 * small to judge is not swapped out but shared by the closed window and the next one ({@link #next}), so it keeps
 * every record; the closed window's snapshot is then a copy taken at the swap.
 */
public final class WindowStats {
    /** Score histograms for drift use this many equal bins over [0, 1]. */
    public static final int SCORE_BINS = 10;
    private static final long MAX_LATENCY_MICROS = 3_600_000_000L;

    final String primaryVersion;
    final String canaryVersion;
    final String shadowVersion;
    final Arm primary;
    final Arm canary;
    final Shadow shadow;

    WindowStats(String primaryVersion, String canaryVersion, String shadowVersion) {
        this(primaryVersion, canaryVersion, shadowVersion, new Arm(), new Arm(), new Shadow());
    }

    private WindowStats(String primaryVersion, String canaryVersion, String shadowVersion, Arm primary, Arm canary,
                        Shadow shadow) {
        this.primaryVersion = primaryVersion;
        this.canaryVersion = canaryVersion;
        this.shadowVersion = shadowVersion;
        this.primary = primary;
        this.canary = canary;
        this.shadow = shadow;
    }

    /**
     * The window after this one, for the same versions. A candidate part with some samples but fewer than
     * {@code minSamples} — too few for the gates to judge — is carried over (the same counters keep growing) instead
     * of being discarded unjudged: the canary arm together with the primary arm it is compared against, and the shadow
     * comparisons.
     */
    WindowStats next(long minSamples) {
        boolean arms = unjudged(canary.requests.sum(), minSamples);
        boolean shadowed = unjudged(shadow.comparisons.sum() + shadow.failures.sum(), minSamples);
        return new WindowStats(primaryVersion, canaryVersion, shadowVersion, arms ? primary : new Arm(),
                arms ? canary : new Arm(), shadowed ? shadow : new Shadow());
    }

    private static boolean unjudged(long samples, long minSamples) {
        return samples > 0 && samples < minSamples;
    }

    /**
     * A window for these versions that keeps whatever of this (not yet closed, so not yet judged) window still
     * describes them: the arms when the primary and canary versions are the same, the shadow when its version is.
     */
    WindowStats reopen(String primaryVersion, String canaryVersion, String shadowVersion) {
        boolean arms = Objects.equals(this.primaryVersion, primaryVersion) && Objects.equals(this.canaryVersion, canaryVersion);
        boolean shadowed = Objects.equals(this.shadowVersion, shadowVersion);
        return new WindowStats(primaryVersion, canaryVersion, shadowVersion, arms ? primary : new Arm(),
                arms ? canary : new Arm(), shadowed ? shadow : new Shadow());
    }

    /**
     * A window for the same versions with nothing in it: what a follower swaps in when it hands its window to the
     * leader ({@link #export}); the leader's own window carries small parts over, so the follower need not.
     */
    WindowStats fresh() {
        return new WindowStats(primaryVersion, canaryVersion, shadowVersion);
    }

    /**
     * Everything this window recorded, whole (latency histograms included), as JSON for the leader's
     * {@link #absorb}. Call it on a window already swapped out, so that nothing is counted twice.
     */
    JsonObject export() {
        return new JsonObject().put("primary_version", primaryVersion).put("canary_version", canaryVersion)
                .put("shadow_version", shadowVersion).put("primary", primary.export()).put("canary", canary.export())
                .put("shadow", shadow.export());
    }

    /**
     * Adds a follower's exported window to this one: its arms when it was opened for the same primary and canary
     * versions, its shadow comparisons when for the same shadow version; a part for other versions (the follower had
     * not caught up, or had moved on) describes another rollout and is dropped.
     *
     * @return the candidate samples absorbed (canary requests and shadow comparisons)
     * @throws IllegalArgumentException when the JSON is not a window
     */
    long absorb(JsonObject w) {
        boolean arms = Objects.equals(w.getString("primary_version"), primaryVersion)
                && Objects.equals(w.getString("canary_version"), canaryVersion);
        boolean shadowed = Objects.equals(w.getString("shadow_version"), shadowVersion);
        ArmDelta p;
        ArmDelta c;
        ShadowDelta sh;
        try { // all of it read before any of it is added: a malformed export adds nothing
            p = arms ? ArmDelta.of(w.getJsonObject("primary")) : null;
            c = arms ? ArmDelta.of(w.getJsonObject("canary")) : null;
            sh = shadowed ? ShadowDelta.of(w.getJsonObject("shadow")) : null;
        } catch (ClassCastException | NullPointerException | IllegalArgumentException | DataFormatException e) {
            throw new IllegalArgumentException("not an exported window: " + e, e);
        }
        long absorbed = 0;
        if (arms) {
            primary.add(p);
            canary.add(c);
            absorbed += c.requests();
        }
        if (shadowed) {
            shadow.add(sh);
            absorbed += sh.comparisons() + sh.failures();
        }
        return absorbed;
    }

    /** One arm of an exported window, read whole. */
    private record ArmDelta(long requests, long errors, Histogram latencyMicros, long[] scoreBins) {
        static ArmDelta of(JsonObject a) throws DataFormatException {
            long requests = a.getLong("requests");
            long errors = a.getLong("errors");
            JsonArray bins = a.getJsonArray("score_bins");
            if (requests < 0 || errors < 0 || errors > requests || bins.size() != SCORE_BINS) {
                throw new IllegalArgumentException("an arm needs 0 <= errors <= requests and " + SCORE_BINS + " score bins");
            }
            long[] b = new long[SCORE_BINS];
            for (int i = 0; i < SCORE_BINS; i++) {
                b[i] = bins.getLong(i);
            }
            Histogram h = Histogram.decodeFromCompressedByteBuffer(
                    ByteBuffer.wrap(Base64.getDecoder().decode(a.getString("latency_us_hdr"))), 0);
            return new ArmDelta(requests, errors, h, b);
        }
    }

    /** The shadow part of an exported window, read whole. */
    private record ShadowDelta(long comparisons, long failures, long rows, double absDiffSum, long labelRows,
                               long labelAgreements) {
        static ShadowDelta of(JsonObject s) {
            return new ShadowDelta(s.getLong("comparisons"), s.getLong("failures"), s.getLong("rows"),
                    s.getDouble("abs_diff_sum"), s.getLong("label_rows"), s.getLong("label_agreements"));
        }
    }

    /** One arm's counters. */
    static final class Arm {
        final LongAdder requests = new LongAdder();
        final LongAdder errors = new LongAdder();
        final ConcurrentHistogram latencyMicros = new ConcurrentHistogram(1, MAX_LATENCY_MICROS, 2);
        final AtomicLongArray scoreBins = new AtomicLongArray(SCORE_BINS);

        void record(long latencyNanos, boolean versionError, float[] scores) {
            requests.increment();
            if (versionError) {
                errors.increment();
                return;
            }
            latencyMicros.recordValue(Math.clamp(latencyNanos / 1_000, 1, MAX_LATENCY_MICROS));
            if (scores != null) {
                for (float s : scores) {
                    if (!Float.isNaN(s)) {
                        scoreBins.incrementAndGet(bin(s));
                    }
                }
            }
        }

        JsonObject export() {
            Histogram h = latencyMicros.copy();
            ByteBuffer buf = ByteBuffer.allocate(h.getNeededByteBufferCapacity());
            int n = h.encodeIntoCompressedByteBuffer(buf);
            byte[] bytes = new byte[n];
            buf.flip().get(bytes);
            JsonArray bins = new JsonArray();
            for (int i = 0; i < SCORE_BINS; i++) {
                bins.add(scoreBins.get(i));
            }
            return new JsonObject().put("requests", requests.sum()).put("errors", errors.sum())
                    .put("latency_us_hdr", Base64.getEncoder().encodeToString(bytes)).put("score_bins", bins);
        }

        void add(ArmDelta d) {
            requests.add(d.requests());
            errors.add(d.errors());
            latencyMicros.add(d.latencyMicros());
            for (int i = 0; i < SCORE_BINS; i++) {
                scoreBins.addAndGet(i, d.scoreBins()[i]);
            }
        }

        ArmSnapshot snapshot() {
            Histogram h = latencyMicros.copy();
            long[] bins = new long[SCORE_BINS];
            for (int i = 0; i < SCORE_BINS; i++) {
                bins[i] = scoreBins.get(i);
            }
            double p95 = h.getTotalCount() == 0 ? Double.NaN : h.getValueAtPercentile(95) / 1_000.0;
            return new ArmSnapshot(requests.sum(), errors.sum(), h.getTotalCount(), p95, bins);
        }
    }

    static int bin(float score) {
        return Math.clamp((int) (score * SCORE_BINS), 0, SCORE_BINS - 1);
    }

    /** Shadow comparisons of the window. */
    static final class Shadow {
        final LongAdder comparisons = new LongAdder();
        final LongAdder failures = new LongAdder();
        final LongAdder rows = new LongAdder();
        final DoubleAdder absDiffSum = new DoubleAdder();
        final LongAdder labelRows = new LongAdder();
        final LongAdder labelAgreements = new LongAdder();

        JsonObject export() {
            return new JsonObject().put("comparisons", comparisons.sum()).put("failures", failures.sum())
                    .put("rows", rows.sum()).put("abs_diff_sum", absDiffSum.sum()).put("label_rows", labelRows.sum())
                    .put("label_agreements", labelAgreements.sum());
        }

        void add(ShadowDelta d) {
            comparisons.add(d.comparisons());
            failures.add(d.failures());
            rows.add(d.rows());
            absDiffSum.add(d.absDiffSum());
            labelRows.add(d.labelRows());
            labelAgreements.add(d.labelAgreements());
        }

        ShadowSnapshot snapshot() {
            return new ShadowSnapshot(comparisons.sum(), failures.sum(), rows.sum(), absDiffSum.sum(), labelRows.sum(),
                    labelAgreements.sum());
        }
    }

    /**
     * @param latencySamples successful requests (the p95 is over these)
     * @param p95Ms          NaN when there were none
     */
    public record ArmSnapshot(long requests, long errors, long latencySamples, double p95Ms, long[] scoreBins) {
        public double errorRate() {
            return requests == 0 ? 0 : (double) errors / requests;
        }

        public long scored() {
            long n = 0;
            for (long b : scoreBins) {
                n += b;
            }
            return n;
        }
    }

    public record ShadowSnapshot(long comparisons, long failures, long rows, double absDiffSum, long labelRows,
                                 long labelAgreements) {
        public double meanAbsDiff() {
            return rows == 0 ? Double.NaN : absDiffSum / rows;
        }

        public double labelAgreement() {
            return labelRows == 0 ? Double.NaN : (double) labelAgreements / labelRows;
        }
    }

    /** A closed window, read by the guard. */
    public record Snapshot(String primaryVersion, String canaryVersion, String shadowVersion, ArmSnapshot primary,
                           ArmSnapshot canary, ShadowSnapshot shadow) {
    }

    Snapshot snapshot() {
        return new Snapshot(primaryVersion, canaryVersion, shadowVersion, primary.snapshot(), canary.snapshot(),
                shadow.snapshot());
    }

    /**
     * Population stability index of {@code actual} against {@code expected} over the same bins; empty bins count as
     * 0.01% so that one empty bin does not make the index infinite.
     */
    public static double psi(long[] expected, long[] actual) {
        double e = 0;
        double a = 0;
        for (int i = 0; i < expected.length; i++) {
            e += expected[i];
            a += actual[i];
        }
        if (e == 0 || a == 0) {
            return Double.NaN;
        }
        double psi = 0;
        for (int i = 0; i < expected.length; i++) {
            double pe = Math.max(expected[i] / e, 1e-4);
            double pa = Math.max(actual[i] / a, 1e-4);
            psi += (pa - pe) * Math.log(pa / pe);
        }
        return psi;
    }
}
