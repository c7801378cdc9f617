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

/**
 * Wraps a real backend and applies the {@link FaultInjector}'s faults to its batches: injected latency (the compute
 * thread sleeps, as a slow device would hold it) and injected failures. Loading, names and availability are the
 * delegate's, and results it lets through are the delegate's own. Thread-safe: state is the injector's and two
 * counters.
 */
public final class ChaosBackend implements Backend {
    private final Backend delegate;
    private final FaultInjector faults;
    private final LongAdder delayed = new LongAdder();
    private final LongAdder failed = new LongAdder();

    public ChaosBackend(Backend delegate, FaultInjector faults) {
        this.delegate = delegate;
        this.faults = faults;
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
                    if (f.failureRate() > 0 && ThreadLocalRandom.current().nextDouble() < f.failureRate()) {
                        failed.increment();
                        throw new InferenceException("chaos: injected failure on " + real.backend(), f.deviceFault());
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
