package io.weir.runtime;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A loaded model version and its per-backend executables, reference-counted so that unload and reload never pull a
 * session from under a running batch.
 *
 * <p>Design: {@code leases} counts holders; bit 31 marks the handle retired. {@link #tryAcquire()} succeeds only while
 * not retired; {@link #retire()} sets the bit, and whichever of retire/release observes "retired and zero leases"
 * closes the executables, exactly once. A retired handle stays usable by those who already hold a lease.
 */
public final class ModelHandle {
    private static final int RETIRED = 1 << 30;

    private final ModelArtifact artifact;
    private final Map<String, LoadedModel> byBackend;
    private final List<String> backendOrder;
    private final Map<String, String> backendRefusals;
    private final AtomicInteger leases = new AtomicInteger();

    /**
     * @param byBackend       executables by backend name; must contain {@code cpu}
     * @param backendOrder    backend names, most preferred first
     * @param backendRefusals why a backend did not take this model (for the admin API and logs)
     */
    public ModelHandle(ModelArtifact artifact, Map<String, LoadedModel> byBackend, List<String> backendOrder,
                       Map<String, String> backendRefusals) {
        this.artifact = artifact;
        this.byBackend = Map.copyOf(byBackend);
        this.backendOrder = backendOrder.stream().filter(byBackend::containsKey).toList();
        this.backendRefusals = Map.copyOf(backendRefusals);
        if (!byBackend.containsKey("cpu")) {
            throw new IllegalArgumentException("a model must always be loadable on the CPU backend");
        }
    }

    public ModelKey key() {
        return artifact.key();
    }

    public ModelConfig config() {
        return artifact.config();
    }

    public ModelArtifact artifact() {
        return artifact;
    }

    /** The CPU executable: always present, the fallback for every other backend. */
    public LoadedModel cpu() {
        return byBackend.get("cpu");
    }

    public Optional<LoadedModel> on(String backend) {
        return Optional.ofNullable(byBackend.get(backend));
    }

    /** Backends holding this model, most preferred first (the CPU last unless it is the only one). */
    public List<String> backends() {
        return backendOrder;
    }

    public Map<String, String> backendRefusals() {
        return backendRefusals;
    }

    /** Takes a lease; false when the handle was retired (the caller should look the model up again). */
    public boolean tryAcquire() {
        while (true) {
            int v = leases.get();
            if ((v & RETIRED) != 0) {
                return false;
            }
            if (leases.compareAndSet(v, v + 1)) {
                return true;
            }
        }
    }

    public void release() {
        int v = leases.decrementAndGet();
        if (v == RETIRED) {
            closeExecutables();
        }
    }

    /** Stops new leases; closes the executables once the last lease is released. */
    void retire() {
        while (true) {
            int v = leases.get();
            if ((v & RETIRED) != 0) {
                return;
            }
            if (leases.compareAndSet(v, v | RETIRED)) {
                if (v == 0) {
                    closeExecutables();
                }
                return;
            }
        }
    }

    public int inFlight() {
        return leases.get() & ~RETIRED;
    }

    /**
     * Each executable closed on its own: one that throws (a CUDA context already poisoned fails its frees) must not
     * keep the others open, nor reach whoever released the last lease (a batch's worker, an unload's listeners).
     */
    private void closeExecutables() {
        byBackend.values().forEach(ModelRegistry::closeQuietly);
    }
}
