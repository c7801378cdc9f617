package io.weir.gateway.http;

import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.weir.chaos.Fault;
import io.weir.chaos.FaultInjector;
import io.weir.runtime.WeirException;
import io.weir.runtime.repository.Versions;

import java.util.function.Consumer;

/**
 * Drill controls, mounted only when {@code chaos.enabled}: {@code GET /admin/chaos/faults},
 * {@code PUT /admin/chaos/faults/:model} with {@code {"latency_ms", "failure_rate", "device_fault", "backend",
 * "version"}} ({@code *} targets every model; a version narrows it to one version of the model, a canary say),
 * {@code DELETE /admin/chaos/faults/:model} (and {@code ?backend=}, {@code ?version=}).
 */
public final class ChaosAdminApi implements Consumer<Router> {
    private final FaultInjector faults;

    public ChaosAdminApi(FaultInjector faults) {
        this.faults = faults;
    }

    @Override
    public void accept(Router router) {
        router.get("/admin/chaos/faults").handler(ctx -> Bodies.sendJson(ctx, 200, list(), null, null));
        router.put("/admin/chaos/faults/:model").handler(BodyHandler.create(false).setBodyLimit(4096)).handler(this::put);
        router.delete("/admin/chaos/faults/:model").handler(ctx -> {
            try {
                String model = model(ctx);
                boolean removed = faults.clear(model, blankToNull(ctx.queryParams().get("version")),
                        blankToNull(ctx.queryParams().get("backend")));
                Bodies.sendJson(ctx, 200, list().put("removed", removed), null, null);
            } catch (RuntimeException e) {
                HttpErrors.send(ctx, e, RequestContext.requestId(ctx));
            }
        });
    }

    private void put(RoutingContext ctx) {
        try {
            JsonObject body = Bodies.object(ctx);
            double latencyMs = number(body, "latency_ms");
            double rate = number(body, "failure_rate");
            Fault fault;
            try {
                fault = new Fault((long) (latencyMs * 1000), rate, body.getBoolean("device_fault", false));
            } catch (IllegalArgumentException | ClassCastException e) {
                throw WeirException.invalid(e.getMessage());
            }
            Object backendValue = body.getValue("backend");
            if (backendValue != null && !(backendValue instanceof String)) {
                throw WeirException.invalid("backend must be a backend's name such as cuda, was " + backendValue);
            }
            String backend = blankToNull((String) backendValue);
            Object version = body.getValue("version");
            if (version != null && !(version instanceof String v && Versions.isVersion(v))) {
                throw WeirException.invalid("version must be a semantic version such as 1.1.0, was " + version);
            }
            try {
                faults.set(model(ctx), (String) version, backend, fault);
            } catch (IllegalArgumentException e) {
                throw WeirException.invalid(e.getMessage());
            }
            Bodies.sendJson(ctx, 200, list(), null, null);
        } catch (RuntimeException e) {
            HttpErrors.send(ctx, e, RequestContext.requestId(ctx));
        }
    }

    /** The path's model: a plain model name or {@code *} (a name with '@' or '/' would make a target nothing matches). */
    private static String model(RoutingContext ctx) {
        String model = ctx.pathParam("model");
        if (!model.equals(FaultInjector.ANY_MODEL) && !Versions.isSafeName(model)) {
            throw WeirException.invalid("the model must be a plain model name or '*', was '" + model + "'");
        }
        return model;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }

    private static double number(JsonObject body, String key) {
        Object v = body.getValue(key);
        if (v == null) {
            return 0;
        }
        if (!(v instanceof Number n) || !Double.isFinite(n.doubleValue())) {
            throw WeirException.invalid(key + " must be a finite number");
        }
        return n.doubleValue();
    }

    private JsonObject list() {
        JsonObject out = new JsonObject();
        faults.snapshot().forEach((target, f) -> out.put(target, new JsonObject().put("latency_ms", f.latencyMicros() / 1000.0)
                .put("failure_rate", f.failureRate()).put("device_fault", f.deviceFault())));
        return new JsonObject().put("faults", out);
    }
}
