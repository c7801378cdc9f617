package io.weir.batcher.policy;

/**
 * A live linear model of a backend's compute time against batch size, {@code t(rows) = fixed + perRow * rows},
 * fitted by exponentially weighted least squares so that it follows drift (a warming JIT, a busier GPU).
 *
 * <p>Design: writers ({@link #observe}, any worker thread) update the weighted sums under this object's monitor and
 * publish an immutable {@link Fit} through a volatile field; readers ({@link #predictNanos}, event loops doing
 * admission and the batching thread) read that field and never lock. Each observation first decays the previous
 * sums by {@code decay}, so the effective memory is about {@code 1 / (1 - decay)} batches. When every recent batch had
 * the same size the slope cannot be fitted; the model then predicts that size's mean time for every size, which
 * undershoots larger batches only until one of them is observed. Negative coefficients from noise are clamped to 0.
 */
public final class LatencyModel {

    /** Coefficients of the current fit and how many observations (weighted) support it. */
    public record Fit(double fixedNanos, double perRowNanos, double weight, long observations) {
        public double predictNanos(int rows) {
            return fixedNanos + perRowNanos * rows;
        }
    }

    private static final Fit EMPTY = new Fit(0, 0, 0, 0);

    private final double decay;
    private double s0;
    private double sx;
    private double sy;
    private double sxx;
    private double sxy;
    private long observations;
    private volatile Fit fit = EMPTY;

    public LatencyModel(double decay) {
        if (!(decay > 0 && decay <= 1)) {
            throw new IllegalArgumentException("decay must be in (0, 1]");
        }
        this.decay = decay;
    }

    public LatencyModel() {
        this(0.98);
    }

    public synchronized void observe(int rows, long nanos) {
        if (rows < 1 || nanos < 0) {
            return;
        }
        double x = rows;
        double y = nanos;
        s0 = s0 * decay + 1;
        sx = sx * decay + x;
        sy = sy * decay + y;
        sxx = sxx * decay + x * x;
        sxy = sxy * decay + x * y;
        observations++;
        double meanX = sx / s0;
        double meanY = sy / s0;
        double varX = sxx / s0 - meanX * meanX;
        double fixed;
        double perRow;
        if (varX <= 1e-9 * Math.max(1, meanX * meanX)) {
            fixed = meanY;
            perRow = 0;
        } else {
            perRow = (sxy / s0 - meanX * meanY) / varX;
            fixed = meanY - perRow * meanX;
            if (perRow < 0) {
                perRow = 0;
                fixed = meanY;
            } else if (fixed < 0) {
                // Force the line through the origin rather than predict negative times for small batches.
                fixed = 0;
                perRow = (sxy / s0) / (sxx / s0);
            }
        }
        fit = new Fit(fixed, perRow, s0, observations);
    }

    public Fit fit() {
        return fit;
    }

    /** Observations so far (not decayed). */
    public long observations() {
        return fit.observations();
    }

    public long predictNanos(int rows) {
        return (long) fit.predictNanos(rows);
    }
}
