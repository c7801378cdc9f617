package io.weir.chaos;

/**
 * A plain injected failure ({@code device_fault: false}) of a batch on the CPU. Unchecked and not an
 * {@link io.weir.runtime.InferenceException} on purpose: the batcher takes a non-device {@code InferenceException} (or
 * an {@code IllegalArgumentException}) for one request's own fault and reruns each request of the batch alone, which
 * here would mean a fresh draw and a fresh injected delay per request (clients saw about the failure rate squared, at
 * (1 + batch size) times the latency). Any other exception fails the whole batch INTERNAL, as a broken backend would.
 */
public final class InjectedFailure extends RuntimeException {
    public InjectedFailure(String message) {
        super(message, null, false, false);
    }
}
