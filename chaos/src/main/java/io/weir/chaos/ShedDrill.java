package io.weir.chaos;

import java.util.concurrent.ThreadLocalRandom;

/**
 * A drill's share of inference requests that the HTTP edge answers 429 RESOURCE_EXHAUSTED (with Retry-After) through
 * its real shedding path, as if its event loop ran behind: to rehearse what clients do with 429s (back off, honour
 * Retry-After, keep their connections) without overloading the replica, and to measure what a shed request costs
 * the gateway ({@code perf/sweep/shed-cost.sh}).
 *
 * <p>Design note. Written by the admin API, read by every event loop on every inference request: one volatile
 * fraction, read once a request, and each loop's own {@link ThreadLocalRandom}, so readers never lock or share a
 * generator. 0 (the start) sheds nothing, 1 everything.
 */
public final class ShedDrill {
    private volatile double fraction;

    /** @param fraction the share of inference requests to shed, 0 to 1 */
    public void set(double fraction) {
        if (!(fraction >= 0 && fraction <= 1)) {
            throw new IllegalArgumentException("fraction must be between 0 and 1, was " + fraction);
        }
        this.fraction = fraction;
    }

    public double fraction() {
        return fraction;
    }

    /** Whether to shed the request now being read (on the event loop that read it). */
    public boolean shedNext() {
        double f = fraction;
        return f > 0 && (f >= 1 || ThreadLocalRandom.current().nextDouble() < f);
    }
}
