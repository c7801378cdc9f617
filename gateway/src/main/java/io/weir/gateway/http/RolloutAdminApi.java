package io.weir.gateway.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.weir.router.RolloutAdmin;
import io.weir.router.Rollouts;
import io.weir.runtime.WeirException;

import java.util.concurrent.Callable;
import java.util.function.Consumer;

/**
 * The rollout admin API: {@code GET /admin/rollouts}, {@code GET|PUT|DELETE /admin/rollouts/:model} (a PUT body is
 * the rollout plus optional {@code "actor"} and {@code "why"} for the audit log),
 * {@code POST /admin/rollouts/:model/(promote|rollback|pause|resume)} with body {@code {"actor","why"}}, the audit log
 * and sampled shadow diffs. Every change is validated by the router (a rejected one keeps the old config serving) and
 * audited; the calls touch files, so they run on worker threads.
 */
public final class RolloutAdminApi implements Consumer<Router> {
    private final Rollouts rollouts;
    private final String prefix;

    public RolloutAdminApi(Rollouts rollouts) {
        this(rollouts, "");
    }

    /** @param prefix put before every path: the cluster API serves the same calls under {@code /cluster} */
    public RolloutAdminApi(Rollouts rollouts, String prefix) {
        this.rollouts = rollouts;
        this.prefix = prefix;
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
            blocking(ctx, () -> admin.put(ctx.pathParam("model"), rollout, actor(ctx, req), why(req)).toJson());
        });
        router.delete(prefix + "/admin/rollouts/:model").handler(ctx -> blocking(ctx, () -> {
            admin.remove(ctx.pathParam("model"), actor(ctx, null), "removed through the admin API");
            return new JsonObject().put("removed", ctx.pathParam("model"));
        }));
        router.post(prefix + "/admin/rollouts/:model/:action").handler(body).handler(ctx -> {
            JsonObject req = ctx.body().length() > 0 ? Bodies.object(ctx) : new JsonObject();
            String model = ctx.pathParam("model");
            String actor = actor(ctx, req);
            String why = why(req);
            switch (ctx.pathParam("action")) {
                case "promote" -> blocking(ctx, () -> admin.promote(model, actor, why).toJson());
                case "rollback" -> blocking(ctx, () -> admin.rollback(model, actor, why).toJson());
                case "pause" -> blocking(ctx, () -> admin.pause(model, actor, why).toJson());
                case "resume" -> blocking(ctx, () -> admin.resume(model, actor, why).toJson());
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

    private static void blocking(RoutingContext ctx, Callable<JsonObject> call) {
        ctx.put("weir.route", "admin");
        String requestId = RequestContext.requestId(ctx);
        ctx.vertx().executeBlocking(call, false)
                .onSuccess(json -> Bodies.sendJson(ctx, 200, json, null, null))
                .onFailure(err -> HttpErrors.send(ctx, err, requestId));
    }
}
