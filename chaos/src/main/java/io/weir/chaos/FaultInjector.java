package io.weir.chaos;

import io.weir.runtime.ModelKey;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The faults in force, by model name ({@code *} for every model) and optionally by backend. Read by compute threads on
 * every batch, written by the admin API: a concurrent map of immutable {@link Fault}s, so readers never lock.
 */
public final class FaultInjector {
    public static final String ANY_MODEL = "*";

    private final Map<String, Fault> byTarget = new ConcurrentHashMap<>();

    /**
     * @param model   a model name or {@code *}
     * @param backend a backend name ({@code cpu}, {@code cuda}) or null for every backend
     */
    public void set(String model, String backend, Fault fault) {
        byTarget.put(target(model, backend), fault);
    }

    public void clear(String model, String backend) {
        byTarget.remove(target(model, backend));
    }

    public void clearAll() {
        byTarget.clear();
    }

    /** The most specific fault for a batch: model and backend, then model, then any model and backend, then any. */
    public Optional<Fault> faultFor(ModelKey key, String backend) {
        Fault f = byTarget.get(target(key.model(), backend));
        if (f == null) {
            f = byTarget.get(target(key.model(), null));
        }
        if (f == null) {
            f = byTarget.get(target(ANY_MODEL, backend));
        }
        if (f == null) {
            f = byTarget.get(target(ANY_MODEL, null));
        }
        return Optional.ofNullable(f);
    }

    /** Every fault in force, keyed {@code model} or {@code model/backend}. */
    public Map<String, Fault> snapshot() {
        return Map.copyOf(byTarget);
    }

    private static String target(String model, String backend) {
        return backend == null ? model : model + "/" + backend;
    }
}
