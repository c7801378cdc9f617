package io.weir.runtime.demo;

/**
 * SplitMix64: a seeded generator whose every output is fixed by its algorithm, so the demo models, their training
 * data and golden sets are the same on every JVM and release ({@code java.util.Random} would do too, but this also
 * gives cheap independent streams through {@link #fork}). Gaussians use Box-Muller with {@link StrictMath}.
 *
 * <p>Not thread-safe.
 */
final class DemoRandom {
    private long state;

    DemoRandom(long seed) {
        this.state = seed;
    }

    long nextLong() {
        long z = (state += 0x9E3779B97F4A7C15L);
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Uniform in [0, 1). */
    double nextDouble() {
        return (nextLong() >>> 11) * 0x1.0p-53;
    }

    /** Uniform in [0, bound). */
    int nextInt(int bound) {
        if (bound <= 0) {
            throw new IllegalArgumentException("bound must be positive");
        }
        return (int) Long.remainderUnsigned(nextLong(), bound);
    }

    /** Uniform in [from, to]. */
    int nextInt(int from, int to) {
        return from + nextInt(to - from + 1);
    }

    double uniform(double from, double to) {
        return from + (to - from) * nextDouble();
    }

    boolean bernoulli(double p) {
        return nextDouble() < p;
    }

    double nextGaussian() {
        double u1 = 1.0 - nextDouble(); // (0, 1]: log is finite
        double u2 = nextDouble();
        return StrictMath.sqrt(-2.0 * StrictMath.log(u1)) * StrictMath.cos(2.0 * StrictMath.PI * u2);
    }

    <T> T pick(T[] items) {
        return items[nextInt(items.length)];
    }

    /** An independent stream derived from this one's next output and a salt; advances this stream once. */
    DemoRandom fork(long salt) {
        return new DemoRandom(nextLong() ^ (salt * 0xD1B54A32D192ED03L));
    }
}
