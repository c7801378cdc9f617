package io.weir.router.internal;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.vertx.core.json.JsonObject;
import io.weir.router.Arm;
import io.weir.router.Route;
import io.weir.runtime.ErrorCode;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Per-arm accounting of every routed request: Micrometer meters tagged {@code model}, {@code arm}, {@code version}
 * (for dashboards) and the rollout guard's current {@link WindowStats} per model (for gates).
 *
 * <p>Meters: {@code weir.router.requests} (counter, tag {@code outcome} = {@code ok} or the error code),
 * {@code weir.router.latency} (timer, successes), {@code weir.router.score} (summary of served scores).
 *
 * <p>Design: any thread records; meters are cached per (model, arm, version) in a concurrent map; windows are swapped
 * by the guard thread only (see {@link WindowStats}).
 */
public final class RolloutStats {
    private record MeterKey(String model, Arm arm, String version) {
    }

    private final class ArmMeters {
        final Counter ok;
        final Timer latency;
        final DistributionSummary score;
        final Map<ErrorCode, Counter> errors = new EnumMap<>(ErrorCode.class);
        final MeterKey key;

        ArmMeters(MeterKey k) {
            key = k;
            ok = requests(k, "ok");
            latency = Timer.builder("weir.router.latency").description("End-to-end latency of served requests by arm")
                    .tags("model", k.model, "arm", k.arm.header(), "version", k.version).register(meters);
            score = DistributionSummary.builder("weir.router.score").description("Scores served, by arm")
                    .tags("model", k.model, "arm", k.arm.header(), "version", k.version).register(meters);
            for (ErrorCode c : ErrorCode.values()) {
                errors.put(c, requests(k, c.name().toLowerCase(Locale.ROOT)));
            }
        }

        private Counter requests(MeterKey k, String outcome) {
            return Counter.builder("weir.router.requests").description("Routed requests by arm and outcome")
                    .tags("model", k.model, "arm", k.arm.header(), "version", k.version, "outcome", outcome)
                    .register(meters);
        }
    }

    private final MeterRegistry meters;
    private final Map<MeterKey, ArmMeters> armMeters = new ConcurrentHashMap<>();
    private final Map<String, AtomicReference<WindowStats>> windows = new ConcurrentHashMap<>();

    public RolloutStats(MeterRegistry meters) {
        this.meters = meters;
    }

    public MeterRegistry meters() {
        return meters;
    }

    /**
     * @param error  null for a success
     * @param scores the served scores (successes only), or null
     */
    public void record(Route route, long latencyNanos, ErrorCode error, float[] scores) {
        ArmMeters m = armMeters.computeIfAbsent(new MeterKey(route.model(), route.arm(), route.version()), ArmMeters::new);
        if (error != null) {
            m.errors.get(error).increment();
        } else {
            m.ok.increment();
            m.latency.record(latencyNanos, TimeUnit.NANOSECONDS);
            if (scores != null) {
                for (float s : scores) {
                    m.score.record(s);
                }
            }
        }
        AtomicReference<WindowStats> ref = windows.get(route.model());
        if (ref == null) {
            return;
        }
        WindowStats w = ref.get();
        boolean versionError = error != null && Scores.countsAgainstVersion(error);
        if (error != null && !versionError) {
            return; // the client's or the load's fault: neither a success nor a failure of the version
        }
        if (route.arm() == Arm.PRIMARY && route.version().equals(w.primaryVersion)) {
            w.primary.record(latencyNanos, versionError, scores);
        } else if (route.arm() == Arm.CANARY && route.version().equals(w.canaryVersion)) {
            w.canary.record(latencyNanos, versionError, scores);
        }
    }

    /** One shadow comparison (shadow workers). */
    public void recordShadow(String model, String shadowVersion, int rows, double absDiffSum, int labelRows,
                             int labelAgreements) {
        WindowStats w = window(model, shadowVersion);
        if (w != null) {
            w.shadow.comparisons.increment();
            w.shadow.rows.add(rows);
            w.shadow.absDiffSum.add(absDiffSum);
            w.shadow.labelRows.add(labelRows);
            w.shadow.labelAgreements.add(labelAgreements);
        }
    }

    public void recordShadowFailure(String model, String shadowVersion) {
        WindowStats w = window(model, shadowVersion);
        if (w != null) {
            w.shadow.failures.increment();
        }
    }

    private WindowStats window(String model, String shadowVersion) {
        AtomicReference<WindowStats> ref = windows.get(model);
        WindowStats w = ref == null ? null : ref.get();
        return w != null && shadowVersion.equals(w.shadowVersion) ? w : null;
    }

    /**
     * Starts a window for these versions (guard thread). What the current window saw of the same versions is kept,
     * since it was never judged: a new stage of the same candidate goes on from it.
     */
    public void open(String model, String primary, String canary, String shadow) {
        AtomicReference<WindowStats> ref = windows.computeIfAbsent(model, k -> new AtomicReference<>());
        WindowStats old = ref.get();
        ref.set(old == null ? new WindowStats(primary, canary, shadow) : old.reopen(primary, canary, shadow));
    }

    /**
     * Closes the current window, opening the next for the same versions, and returns what it saw (guard thread). A
     * candidate part with fewer than {@code minSamples} samples carries into the next window (see
     * {@link WindowStats#next}), so the next snapshot includes it again.
     */
    public WindowStats.Snapshot drain(String model, long minSamples) {
        AtomicReference<WindowStats> ref = windows.get(model);
        if (ref == null || ref.get() == null) {
            return null;
        }
        WindowStats old = ref.get();
        ref.set(old.next(minSamples));
        return old.snapshot();
    }

    /**
     * A follower's half of pooled windows: hands over what every open window recorded since the last call, each
     * replaced by an empty one for the same versions, as {@code {"<model>": <window>}} for the leader's
     * {@link #absorb}. A record that loaded a window just before the swap may land in it after the export; the
     * window loses that handful (as {@link WindowStats} says of the guard's own swap).
     */
    public JsonObject export() {
        JsonObject out = new JsonObject();
        windows.forEach((model, ref) -> {
            WindowStats w = ref.get();
            if (w != null && ref.compareAndSet(w, w.fresh())) {
                out.put(model, w.export());
            }
        });
        return out;
    }

    /**
     * The leader's half: adds a follower's {@link #export} into the current windows, so that the guard judges every
     * replica's traffic. A model without an open window here, or a window for other versions, is dropped.
     *
     * @return the candidate samples absorbed
     * @throws IllegalArgumentException when the JSON is not an export
     */
    public long absorb(JsonObject export) {
        long absorbed = 0;
        IllegalArgumentException malformed = null;
        for (String model : export.fieldNames()) {
            AtomicReference<WindowStats> ref = windows.get(model);
            WindowStats w = ref == null ? null : ref.get();
            if (w != null && export.getValue(model) instanceof JsonObject window) {
                try {
                    absorbed += w.absorb(window); // all of one model's window or nothing of it
                } catch (IllegalArgumentException e) {
                    malformed = malformed == null ? new IllegalArgumentException(model + ": " + e.getMessage(), e) : malformed;
                }
            }
        }
        if (malformed != null) {
            throw malformed; // after the other models' windows are in: one bad model loses only its own samples
        }
        return absorbed;
    }

    /** The models with an open window. */
    public Set<String> windowed() {
        return Set.copyOf(windows.keySet());
    }

    /** Stops windowing a model (guard thread). */
    public void stop(String model) {
        windows.remove(model);
    }
}
