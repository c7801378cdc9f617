package io.weir.gateway.http;

import io.vertx.core.Handler;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.weir.gateway.ModelService;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.WeirException;
import io.weir.runtime.repository.Versions;

import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Model lifecycle at run time: list, load, reload, unload. Loading runs on a worker thread; the old version keeps
 * serving until the new one is warmed, and requests running on an unloaded version finish on it.
 */
public final class AdminApi {
    static final String[] ACTIONS = {"load", "reload", "unload"};

    private final ModelService models;
    private final ModelRegistry registry;

    AdminApi(ModelService models) {
        this.models = models;
        this.registry = models.registry();
    }

    /**
     * Mounts {@code GET <prefix>/admin/models} and {@code POST <prefix>/admin/models/:model/versions/:version/<action>},
     * each handler passed through {@code wrap} (the HTTP verticle names its routes for the metrics).
     */
    void mount(Router router, String prefix, Function<Handler<RoutingContext>, Handler<RoutingContext>> wrap) {
        router.get(prefix + "/admin/models").handler(wrap.apply(this::list));
        for (String action : ACTIONS) {
            router.post(prefix + "/admin/models/:model/versions/:version/" + action).handler(wrap.apply(ctx -> lifecycle(ctx, action)));
        }
    }

    /** The model lifecycle routes under {@code prefix} (the cluster API serves them under {@code /cluster}). */
    public static Consumer<Router> routes(ModelService models, String prefix) {
        AdminApi api = new AdminApi(models);
        return router -> api.mount(router, prefix, h -> h);
    }

    void list(RoutingContext ctx) {
        JsonArray versions = new JsonArray();
        for (ModelRegistry.Status s : registry.statuses()) {
            versions.add(status(s));
        }
        JsonObject body = new JsonObject().put("ready", models.ready()).put("repository", registry.repository().root().toString())
                .put("models", versions).put("backends", backends());
        if (models.startupFailure() != null) {
            body.put("startup_failure", models.startupFailure());
        }
        Bodies.sendJson(ctx, 200, body, null, null);
    }

    private JsonArray backends() {
        JsonArray a = new JsonArray();
        registry.backends().forEach(b -> {
            var av = b.availability();
            a.add(new JsonObject().put("name", b.name()).put("available", av.available()).put("reason", av.reason()));
        });
        return a;
    }

    static JsonObject status(ModelRegistry.Status s) {
        JsonObject o = new JsonObject().put("model", s.key().model()).put("version", s.key().version())
                .put("state", s.state().name()).put("message", s.message()).put("backends", new JsonArray(s.backends()));
        if (s.sha256() != null) {
            o.put("sha256", s.sha256());
        }
        return o;
    }

    /** {@code POST /admin/models/:model/versions/:version/(load|reload|unload)}. */
    void lifecycle(RoutingContext ctx, String action) {
        String model = ctx.pathParam("model");
        String version = ctx.pathParam("version");
        if (!Versions.isSafeName(model) || !Versions.isVersion(version)) {
            throw WeirException.invalid("model must be a plain name and version a semantic version");
        }
        ModelKey key = new ModelKey(model, version);
        String requestId = RequestContext.requestId(ctx);
        ctx.vertx().executeBlocking(() -> switch (action) {
            case "unload" -> {
                ModelRegistry.Status s = registry.unload(key);
                if (s == null) {
                    throw WeirException.notFound(key + " is not known");
                }
                yield s;
            }
            default -> {
                if (!registry.repository().versions(model).contains(version)) {
                    throw WeirException.notFound("the repository has no " + key);
                }
                yield registry.load(key);
            }
        }, false).onSuccess(s -> {
            if (s.state() == ModelRegistry.State.FAILED) {
                // A failed load means the artifact is bad (the operator's input): INVALID_ARGUMENT with the reason.
                HttpErrors.send(ctx, WeirException.invalid("load failed: " + s.message()), requestId);
                return;
            }
            Bodies.sendJson(ctx, 200, status(s), null, null);
        }).onFailure(err -> HttpErrors.send(ctx, err, requestId));
    }
}
