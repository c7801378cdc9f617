package io.weir.runtime;

/**
 * A nanosecond clock, injected wherever time decides something (batch deadlines, request deadlines, rollout windows)
 * so that tests drive time instead of sleeping.
 */
@FunctionalInterface
public interface Ticker {
    long nanos();

    static Ticker system() {
        return System::nanoTime;
    }
}
