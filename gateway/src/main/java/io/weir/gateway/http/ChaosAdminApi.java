package io.weir.gateway.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.weir.chaos.Fault;
import io.weir.chaos.FaultInjector;
import io.weir.chaos.ShedDrill;
import io.weir.gateway.cluster.ClusterMember;
import io.weir.gateway.config.PeerAddress;
import io.weir.runtime.WeirException;
import io.weir.runtime.repository.Versions;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.logging.Logger;

/**
 * Drill controls, mounted only when {@code chaos.enabled}: {@code GET /admin/chaos/faults},
 * {@code PUT /admin/chaos/faults/:model} with {@code {"latency_ms", "failure_rate", "device_fault", "backend",
 * "version"}} ({@code *} targets every model; a version narrows it to one version of the model, a canary say),
 * {@code DELETE /admin/chaos/faults/:model} (and {@code ?backend=}, {@code ?version=}); the edge's shed drill:
 * {@code GET /admin/chaos/shed}, {@code PUT /admin/chaos/shed} with {@code {"fraction": 0.5}} (that share of inference
 * requests answered 429 through the edge's shedding path), {@code DELETE /admin/chaos/shed}; and, on a replica with cluster
 * peers, a network partition of its cluster traffic: {@code GET /admin/chaos/partition},
 * {@code PUT /admin/chaos/partition} with {@code {"peers": ["host:port", ...]}} (the peers' cluster addresses, as in
 * {@code GET /admin/cluster}), {@code DELETE /admin/chaos/partition} to heal it.
 */
public final class ChaosAdminApi implements Consumer<Router> {
    private static final Logger LOG = Logger.getLogger(ChaosAdminApi.class.getName());

    private final FaultInjector faults;
    private final ShedDrill shedDrill;
    private final ClusterMember cluster;

    /** @param cluster this replica's cluster member (its partition to steer), or null on a replica without cluster peers */
    public ChaosAdminApi(FaultInjector faults, ShedDrill shedDrill, ClusterMember cluster) {
        this.faults = Objects.requireNonNull(faults, "faults");
        this.shedDrill = Objects.requireNonNull(shedDrill, "shedDrill");
        this.cluster = cluster;
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
        shedRoutes(router);
        partitionRoutes(router);
    }

    private void shedRoutes(Router router) {
        router.get("/admin/chaos/shed").handler(ctx -> Bodies.sendJson(ctx, 200, shedding(), null, null));
        router.put("/admin/chaos/shed").handler(BodyHandler.create(false).setBodyLimit(4096)).handler(ctx -> {
            try {
                Object fraction = Bodies.object(ctx).getValue("fraction");
                if (!(fraction instanceof Number n)) {
                    throw WeirException.invalid("fraction must be a number between 0 and 1 (the share of inference "
                            + "requests to shed), was " + fraction);
                }
                try {
                    shedDrill.set(n.doubleValue());
                } catch (IllegalArgumentException e) {
                    throw WeirException.invalid(e.getMessage());
                }
                LOG.warning("chaos: the edge sheds " + shedDrill.fraction() + " of inference requests");
                Bodies.sendJson(ctx, 200, shedding(), null, null);
            } catch (RuntimeException e) {
                HttpErrors.send(ctx, e, RequestContext.requestId(ctx));
            }
        });
        router.delete("/admin/chaos/shed").handler(ctx -> {
            boolean was = shedDrill.fraction() > 0;
            shedDrill.set(0);
            if (was) {
                LOG.warning("chaos: the edge's shed drill is off");
            }
            Bodies.sendJson(ctx, 200, shedding().put("removed", was), null, null);
        });
    }

    private JsonObject shedding() {
        return new JsonObject().put("fraction", shedDrill.fraction());
    }

    private void partitionRoutes(Router router) {
        router.get("/admin/chaos/partition").handler(ctx -> Bodies.sendJson(ctx, 200, partitioned(), null, null));
        router.put("/admin/chaos/partition").handler(BodyHandler.create(false).setBodyLimit(64 * 1024)).handler(ctx -> {
            try {
                if (cluster == null) {
                    throw WeirException.invalid("this replica has no cluster peers (cluster.peers): there is nothing to partition");
                }
                Object peers = Bodies.object(ctx).getValue("peers");
                if (!(peers instanceof JsonArray list) || list.isEmpty()) {
                    throw WeirException.invalid("peers must be a non-empty array of cluster addresses (host:port); "
                            + "DELETE /admin/chaos/partition heals the partition");
                }
                List<String> cut = new ArrayList<>();
                for (Object p : list) {
                    try {
                        cut.add(PeerAddress.parse(String.valueOf(p)).toString());
                    } catch (IllegalArgumentException e) {
                        throw WeirException.invalid("peers: each " + e.getMessage());
                    }
                }
                try {
                    LOG.warning("chaos: this replica's cluster traffic is cut off from " + cluster.partition(cut));
                } catch (IllegalArgumentException e) {
                    throw WeirException.invalid("peers: " + e.getMessage());
                }
                Bodies.sendJson(ctx, 200, partitioned(), null, null);
            } catch (RuntimeException e) {
                HttpErrors.send(ctx, e, RequestContext.requestId(ctx));
            }
        });
        router.delete("/admin/chaos/partition").handler(ctx -> {
            boolean healed = cluster != null && cluster.healPartition();
            if (healed) {
                LOG.warning("chaos: the cluster partition is healed");
            }
            Bodies.sendJson(ctx, 200, partitioned().put("healed", healed), null, null);
        });
    }

    private JsonObject partitioned() {
        return new JsonObject().put("partitioned_from",
                new JsonArray(cluster == null ? List.of() : new ArrayList<>(cluster.partitionedFrom())));
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
