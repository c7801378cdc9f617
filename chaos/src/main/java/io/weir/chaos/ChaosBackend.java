package io.weir.chaos;

import io.weir.runtime.Backend;
import io.weir.runtime.InferenceException;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelLoadException;
import io.weir.runtime.Tensor;

import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;

/**
 * Wraps a real backend and applies the {@link FaultInjector}'s faults to its batches: injected latency (the compute
 * thread sleeps, as a slow device would hold it) and injected failures, one draw per batch. A device fault is an
 * {@link InferenceException} the batcher retries on the CPU; a plain failure fails the batch as a whole, every request
 * in it answered INTERNAL (on the CPU an {@link InjectedFailure}; on another backend a non-device
 * {@code InferenceException}, which sends the batch to the CPU without counting against the device). Loading, names
 * and availability are the delegate's, and results it lets through are the delegate's own. Thread-safe: state is the
 * injector's, the random source's (thread-safe) and two counters.
 */
public final class ChaosBackend implements Backend {
    /** The backend the batcher ends on (ModelRegistry's required one): where it splits a batch request by request. */
    private static final String CPU = "cpu";
    private final Backend delegate;
    private final FaultInjector faults;
    private final DoubleSupplier random;
    private final LongAdder delayed = new LongAdder();
    private final LongAdder failed = new LongAdder();

    public ChaosBackend(Backend delegate, FaultInjector faults) {
        this(delegate, faults, () -> ThreadLocalRandom.current().nextDouble());
    }

    /** @param random where failures are drawn from, uniform in [0, 1) (tests give a seeded one) */
    public ChaosBackend(Backend delegate, FaultInjector faults, DoubleSupplier random) {
        this.delegate = delegate;
        this.faults = faults;
        this.random = random;
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public Availability availability() {
        return delegate.availability();
    }

    @Override
    public LoadedModel load(ModelArtifact artifact) throws ModelLoadException {
        LoadedModel real = delegate.load(artifact);
        return new LoadedModel() {
            @Override
            public ModelKey key() {
                return real.key();
            }

            @Override
            public String backend() {
                return real.backend();
            }

            @Override
            public Map<String, Tensor> run(Map<String, Tensor> inputs) throws InferenceException {
                var fault = faults.faultFor(real.key(), real.backend());
                if (fault.isPresent()) {
                    Fault f = fault.get();
                    if (f.latencyMicros() > 0) {
                        delayed.increment();
                        try {
                            TimeUnit.MICROSECONDS.sleep(f.latencyMicros());
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            throw new InferenceException("chaos: interrupted during injected latency", f.deviceFault(), e);
                        }
                    }
                    if (f.failureRate() > 0 && random.getAsDouble() < f.failureRate()) {
                        failed.increment();
                        String message = "chaos: injected failure on " + real.backend();
                        // Off the CPU the batcher moves a failed batch to the CPU whole either way, and a plain
                        // failure must not count against the device's health; on the CPU it must not look like one
                        // request's fault (InjectedFailure).
                        if (f.deviceFault() || !real.backend().equals(CPU)) {
                            throw new InferenceException(message, f.deviceFault());
                        }
                        throw new InjectedFailure(message);
                    }
                }
                return real.run(inputs);
            }

            @Override
            public void close() {
                real.close();
            }
        };
    }

    /** Batches delayed so far. */
    public long delayedBatches() {
        return delayed.sum();
    }

    /** Batches failed on purpose so far. */
    public long failedBatches() {
        return failed.sum();
    }

    @Override
    public void close() {
        delegate.close();
    }
}
