package io.weir.router;

import java.util.Map;

/**
 * What a replica did with its leader's rollouts ({@link Rollouts#follow}).
 *
 * @param changed whether what this replica serves changed
 * @param refused the models whose leader's rollout this replica cannot serve, with why: a version it has not loaded,
 *                or a rollout that does not parse here (it serves their leader's primary alone meanwhile)
 */
public record Followed(boolean changed, Map<String, String> refused) {
    public Followed {
        refused = Map.copyOf(refused);
    }
}
