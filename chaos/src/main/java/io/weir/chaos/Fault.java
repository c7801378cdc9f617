package io.weir.chaos;

/**
 * What to do to a model's batches: wait {@code latencyMicros} before running each one, then fail it with probability
 * {@code failureRate} (as a device fault, which the batcher retries on the CPU, or as a plain failure, which answers
 * every request of the batch INTERNAL: so that share of requests fails, once each).
 */
public record Fault(long latencyMicros, double failureRate, boolean deviceFault) {
    public Fault {
        if (latencyMicros < 0 || latencyMicros > 60_000_000L) {
            throw new IllegalArgumentException("latency must be between 0 and 60 s");
        }
        if (!(failureRate >= 0 && failureRate <= 1)) {
            throw new IllegalArgumentException("failure_rate must be between 0 and 1");
        }
    }
}
