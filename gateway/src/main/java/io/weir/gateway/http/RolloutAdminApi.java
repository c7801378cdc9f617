package io.weir.gateway.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.weir.router.RolloutAdmin;
import io.weir.router.Rollouts;
import io.weir.runtime.WeirException;

import io.vertx.core.Future;

import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.function.Consumer;

/**
 * The rollout admin API: {@code GET /admin/rollouts}, {@code GET|PUT|DELETE /admin/rollouts/:model} (a PUT body is
 * the rollout plus optional {@code "actor"} and {@code "why"} for the audit log),
 * {@code POST /admin/rollouts/:model/(promote|rollback|pause|resume)} with body {@code {"actor","why"}}, the audit log
 * and sampled shadow diffs. Every change is validated by the router (a rejected one keeps the old config serving) and
 * audited; the calls touch files, so they run on worker threads.
 */
public final class RolloutAdminApi implements Consumer<Router> {
    /**
     * Header of a change's answer on a cluster's leader: {@code k/n}, how many of the replicas it knows of (heard
     * lately or listed by {@code cluster.peers}) serve the change.
     */
    public static final String REPLICATED_HEADER = "x-weir-replicated";

    private final Rollouts rollouts;
    private final String prefix;
    private final Supplier<Future<String>> replicate;

    public RolloutAdminApi(Rollouts rollouts) {
        this(rollouts, "", null);
    }

    /**
     * @param prefix    put before every path: the cluster API serves the same calls under {@code /cluster}
     * @param replicate on a cluster's leader, sends the rollouts to the followers and completes with
     *                  {@code "<acknowledged>/<replicas known>"} once they answered (a change is answered only then); null
     *                  for a replica alone
     */
    public RolloutAdminApi(Rollouts rollouts, String prefix, Supplier<Future<String>> replicate) {
        this.rollouts = rollouts;
        this.prefix = prefix;
        this.replicate = replicate;
    }

    @Override
    public void accept(Router router) {
        RolloutAdmin admin = rollouts.admin();
        BodyHandler body = BodyHandler.create(false).setBodyLimit(256 * 1024);
        router.get(prefix + "/admin/rollouts").handler(ctx -> blocking(ctx, () -> admin.list().put("shadow", rollouts.shadowCounts())));
        router.get(prefix + "/admin/rollouts/:model").handler(ctx -> blocking(ctx, () -> admin.get(ctx.pathParam("model"))));
        router.put(prefix + "/admin/rollouts/:model").handler(body).handler(ctx -> {
            JsonObject req = Bodies.object(ctx);
            // "actor" and "why" ride along with the rollout for the audit log; the rollout itself is the rest.
            JsonObject rollout = req.copy();
            rollout.remove("actor");
            rollout.remove("why");
            change(ctx, () -> admin.put(ctx.pathParam("model"), rollout, actor(ctx, req), why(req)).toJson());
        });
        router.delete(prefix + "/admin/rollouts/:model").handler(ctx -> change(ctx, () -> {
            admin.remove(ctx.pathParam("model"), actor(ctx, null), "removed through the admin API");
            return new JsonObject().put("removed", ctx.pathParam("model"));
        }));
        router.post(prefix + "/admin/rollouts/:model/:action").handler(body).handler(ctx -> {
            JsonObject req = ctx.body().length() > 0 ? Bodies.object(ctx) : new JsonObject();
            String model = ctx.pathParam("model");
            String actor = actor(ctx, req);
            String why = why(req);
            switch (ctx.pathParam("action")) {
                case "promote" -> change(ctx, () -> admin.promote(model, actor, why).toJson());
                case "rollback" -> change(ctx, () -> admin.rollback(model, actor, why).toJson());
                case "pause" -> change(ctx, () -> admin.pause(model, actor, why).toJson());
                case "resume" -> change(ctx, () -> admin.resume(model, actor, why).toJson());
                default -> throw WeirException.notFound("unknown rollout action '" + ctx.pathParam("action") + "'");
            }
        });
        router.get(prefix + "/admin/rollouts/:model/audit").handler(ctx -> blocking(ctx,
                () -> wrap("audit", admin.audit(ctx.pathParam("model"), limit(ctx)))));
        router.get(prefix + "/admin/audit").handler(ctx -> blocking(ctx, () -> wrap("audit", admin.audit(null, limit(ctx)))));
        router.get(prefix + "/admin/rollouts/:model/shadow-diffs").handler(ctx -> blocking(ctx,
                () -> wrap("diffs", admin.shadowDiffs(ctx.pathParam("model"), ctx.queryParams().get("request_id"), limit(ctx)))));
    }

    private static JsonObject wrap(String key, JsonArray items) {
        return new JsonObject().put(key, items);
    }

    private static int limit(RoutingContext ctx) {
        String l = ctx.queryParams().get("limit");
        try {
            int n = l == null ? 100 : Integer.parseInt(l);
            if (n < 1 || n > 10_000) {
                throw new NumberFormatException();
            }
            return n;
        } catch (NumberFormatException e) {
            throw WeirException.invalid("limit must be an integer in [1, 10000]");
        }
    }

    private static String actor(RoutingContext ctx, JsonObject body) {
        if (body != null && body.getValue("actor") instanceof String a && !a.isBlank()) {
            return a;
        }
        String h = ctx.request().getHeader("x-weir-actor");
        return h != null && !h.isBlank() ? h : "admin-api@" + ctx.request().remoteAddress();
    }

    private static String why(JsonObject body) {
        return body != null && body.getValue("why") instanceof String w && !w.isBlank() ? w : "no reason given";
    }

    /**
     * A change: made like a read, and on a cluster's leader answered only once the followers it heard lately have it
     * (or did not answer in time): a leader that stops right after answering leaves the change with them.
     */
    private void change(RoutingContext ctx, Callable<JsonObject> call) {
        if (replicate == null) {
            blocking(ctx, call);
            return;
        }
        ctx.put("weir.route", "admin");
        String requestId = RequestContext.requestId(ctx);
        if (!rollouts.leading()) { // it stopped leading since the call was let through: the next sync would undo it
            HttpErrors.send(ctx, WeirException.unavailable("this replica does not lead the rollouts now; retry"), requestId);
            return;
        }
        ctx.vertx().executeBlocking(call, false)
                .compose(json -> replicate.get().map(to -> {
                    ctx.response().putHeader(REPLICATED_HEADER, to);
                    return json;
                }))
                .onSuccess(json -> Bodies.sendJson(ctx, 200, json, null, null))
                .onFailure(err -> HttpErrors.send(ctx, err, requestId));
    }

    private static void blocking(RoutingContext ctx, Callable<JsonObject> call) {
        ctx.put("weir.route", "admin");
        String requestId = RequestContext.requestId(ctx);
        ctx.vertx().executeBlocking(call, false)
                .onSuccess(json -> Bodies.sendJson(ctx, 200, json, null, null))
                .onFailure(err -> HttpErrors.send(ctx, err, requestId));
    }
}
