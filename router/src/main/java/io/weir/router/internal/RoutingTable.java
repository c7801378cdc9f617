package io.weir.router.internal;

import io.weir.router.RolloutConfig;

import java.util.HashMap;
import java.util.Map;

/**
 * The immutable snapshot the router reads on every request: each model's rollout with everything the hot path needs
 * precomputed. A change builds a whole new table and swaps it in; readers never lock and never see half a change.
 */
public record RoutingTable(long revision, Map<String, Entry> models) {

    public static final RoutingTable EMPTY = new RoutingTable(0, Map.of());

    /**
     * @param canaryPoints    canary weight in basis points; 0 after a rollback
     * @param allowCanary     whether allow-listed users get the canary (a rolled-back canary gets nobody)
     * @param shadowPoints    shadow sample rate in {@link Assignment#SAMPLE_POINTS}; 0 when nothing is mirrored
     */
    public record Entry(RolloutConfig config, long userSeed, long sampleSeed, int canaryPoints, boolean allowCanary,
                        int shadowPoints) {
        static Entry of(RolloutConfig c) {
            boolean running = c.canary() != null && c.status() == RolloutConfig.Status.RUNNING;
            int canaryPoints = running ? c.canaryBasisPoints() : 0;
            int shadowPoints = c.shadow() == null ? 0 : (int) Math.round(c.shadowSampleRate() * Assignment.SAMPLE_POINTS);
            return new Entry(c, Assignment.seed(c.effectiveSalt()), Assignment.seed("shadow\0" + c.effectiveSalt()),
                    canaryPoints, running, shadowPoints);
        }
    }

    public static RoutingTable of(long revision, Map<String, RolloutConfig> configs) {
        Map<String, Entry> m = new HashMap<>();
        configs.forEach((k, v) -> m.put(k, Entry.of(v)));
        return new RoutingTable(revision, Map.copyOf(m));
    }
}
