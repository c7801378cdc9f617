package io.weir.router.internal;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.router.RolloutAdmin;
import io.weir.router.RolloutConfig;
import io.weir.runtime.WeirException;

/** The admin operations as audited store changes. */
public final class DefaultRolloutAdmin implements RolloutAdmin {
    private final RolloutStore store;
    private final RolloutGuard guard;
    private final DiffLog diffs;

    public DefaultRolloutAdmin(RolloutStore store, RolloutGuard guard, DiffLog diffs) {
        this.store = store;
        this.guard = guard;
        this.diffs = diffs;
    }

    private static RolloutStore.Change change(String actor, String action, String why) {
        return new RolloutStore.Change(actor == null || actor.isBlank() ? "admin" : actor, action, why);
    }

    @Override
    public JsonObject list() {
        JsonObject models = new JsonObject();
        store.all().forEach((k, v) -> models.put(k, v.toJson()));
        return new JsonObject().put("revision", store.table().revision()).put("models", models);
    }

    @Override
    public JsonObject get(String model) {
        RolloutConfig c = store.get(model).orElseThrow(() -> WeirException.notFound("model '" + model + "' has no rollout"));
        return new JsonObject().put("rollout", c.toJson()).put("guard", guard.status(model));
    }

    @Override
    public RolloutConfig put(String model, JsonObject body, String actor, String why) {
        return store.put(model, body, change(actor, "put", why));
    }

    @Override
    public void remove(String model, String actor, String why) {
        store.remove(model, change(actor, "remove", why));
    }

    @Override
    public RolloutConfig promote(String model, String actor, String why) {
        return store.update(model, change(actor, "promote", why), true, Transitions::promoted);
    }

    @Override
    public RolloutConfig rollback(String model, String actor, String why) {
        String reason = why == null || why.isBlank() ? "rolled back by " + change(actor, "", null).actor() : why;
        return store.update(model, change(actor, "rollback", why), false, c -> Transitions.rolledBack(c, reason));
    }

    @Override
    public RolloutConfig pause(String model, String actor, String why) {
        return store.update(model, change(actor, "pause", why), true, c -> Transitions.paused(c, true));
    }

    @Override
    public RolloutConfig resume(String model, String actor, String why) {
        return store.update(model, change(actor, "resume", why), true, c -> Transitions.paused(c, false));
    }

    @Override
    public JsonArray audit(String model, int limit) {
        return store.audit().recent(model, limit);
    }

    @Override
    public JsonArray shadowDiffs(String model, String requestId, int limit) {
        return diffs.recent(model, requestId, limit);
    }
}
