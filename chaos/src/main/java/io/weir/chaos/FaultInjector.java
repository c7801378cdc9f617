package io.weir.chaos;

import io.weir.runtime.ModelKey;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The faults in force, by model name ({@code *} for every model), optionally narrowed to one version (a bad canary
 * beside a healthy primary) and to one backend. Read by compute threads on every batch, written by the admin API: a
 * concurrent map of immutable {@link Fault}s, so readers never lock.
 */
public final class FaultInjector {
    public static final String ANY_MODEL = "*";

    private final Map<String, Fault> byTarget = new ConcurrentHashMap<>();

    /**
     * @param model   a model name or {@code *}
     * @param backend a backend name ({@code cpu}, {@code cuda}) or null for every backend
     */
    public void set(String model, String backend, Fault fault) {
        set(model, null, backend, fault);
    }

    /** @param version one version of {@code model}, or null for all of them (not with {@code *}) */
    public void set(String model, String version, String backend, Fault fault) {
        if (version != null && model.equals(ANY_MODEL)) {
            throw new IllegalArgumentException("a version belongs to one model, not to '*'");
        }
        byTarget.put(target(model, version, backend), fault);
    }

    /** @return whether a fault was in force for exactly that target */
    public boolean clear(String model, String backend) {
        return clear(model, null, backend);
    }

    /** @return whether a fault was in force for exactly that target */
    public boolean clear(String model, String version, String backend) {
        return byTarget.remove(target(model, version, backend)) != null;
    }

    public void clearAll() {
        byTarget.clear();
    }

    /**
     * The most specific fault for a batch: the version on the backend, the version, the model on the backend, the
     * model, then any model on the backend, then any.
     */
    public Optional<Fault> faultFor(ModelKey key, String backend) {
        String[] targets = {target(key.model(), key.version(), backend), target(key.model(), key.version(), null),
                target(key.model(), null, backend), target(key.model(), null, null),
                target(ANY_MODEL, null, backend), target(ANY_MODEL, null, null)};
        for (String t : targets) {
            Fault f = byTarget.get(t);
            if (f != null) {
                return Optional.of(f);
            }
        }
        return Optional.empty();
    }

    /** Every fault in force, keyed {@code model[@version][/backend]}. */
    public Map<String, Fault> snapshot() {
        return Map.copyOf(byTarget);
    }

    private static String target(String model, String version, String backend) {
        String t = version == null ? model : model + "@" + version;
        return backend == null ? t : t + "/" + backend;
    }
}
