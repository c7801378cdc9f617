package io.weir.router;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

/**
 * Run-time control of the rollouts, for the gateway's admin API. Every change is validated first (an invalid one throws
 * {@link io.weir.runtime.WeirException} INVALID_ARGUMENT with every reason, and the previous config keeps serving),
 * then applied atomically, written back to the config file and appended to the audit log with its actor and reason.
 * Unknown models throw NOT_FOUND. Safe from any thread, but it does file I/O: call it off the event loop.
 */
public interface RolloutAdmin {

    /** {@code {"revision": n, "models": {"<model>": <rollout>, ...}}}. */
    JsonObject list();

    /** {@code {"rollout": <rollout>, "guard": <progress of the staged rollout and the last window's statistics>}}. */
    JsonObject get(String model);

    /** Replaces (or creates) a model's rollout with {@code body} (the JSON of {@link RolloutConfig}). */
    RolloutConfig put(String model, JsonObject body, String actor, String why);

    /** Removes a model's rollout: the model is then served by its newest READY version. */
    void remove(String model, String actor, String why);

    /** The canary becomes the primary; canary (and a shadow on the same version) cleared. */
    RolloutConfig promote(String model, String actor, String why);

    /** The canary gets no traffic (weight 0, status rolled_back, the reason recorded). Never refused for unloaded versions. */
    RolloutConfig rollback(String model, String actor, String why);

    /** Freezes stage progression (gates still roll back a failing canary). */
    RolloutConfig pause(String model, String actor, String why);

    RolloutConfig resume(String model, String actor, String why);

    /** The newest audit records (newest last), optionally only one model's; see the audit log for the record shape. */
    JsonArray audit(String model, int limit);

    /** The sampled shadow diffs kept in memory, newest last; {@code requestId} non-null selects that request's. */
    JsonArray shadowDiffs(String model, String requestId, int limit);
}
