package io.weir.runtime;

/**
 * A nanosecond clock, injected wherever time decides something (batch deadlines, request deadlines, rollout windows)
 * so that tests drive time instead of sleeping.
 */
@FunctionalInterface
public interface Ticker {
    long nanos();

    /** {@link System#nanoTime()}; one instance, so code that waits can tell the real clock from an injected one. */
    Ticker SYSTEM = System::nanoTime;

    static Ticker system() {
        return SYSTEM;
    }
}
