package io.weir.gateway.http;

import com.fasterxml.jackson.core.JsonGenerator;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;
import io.weir.batcher.InferenceRequest;
import io.weir.batcher.Priority;
import io.weir.gateway.ModelService;
import io.weir.gateway.config.WeirConfig;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;
import io.weir.runtime.WeirException;
import io.weir.runtime.features.FeatureContract;

import java.io.IOException;
import java.util.Map;

/**
 * The native JSON API: {@code POST /v1/rank:score} and {@code POST /v1/moderate}. Validation happens here, at the
 * edge, and everything past it trusts the request: structure and limits first (candidates, text length, types), then
 * the model's feature contract checks each declared field while encoding.
 */
final class NativeApi {
    private final ModelService models;
    private final WeirConfig config;
    private final Routing routing;
    private final GatewayMetrics metrics;
    /** Per event loop, like this handler: the rank body reader and the contract it streams with (the last one used). */
    private final RankBodyReader rankReader;
    private FeatureContract rankContractHint;
    private final ResponseJson.FloatWriter scoreWriter = new ResponseJson.FloatWriter();

    NativeApi(ModelService models, WeirConfig config, Routing routing, GatewayMetrics metrics) {
        this.models = models;
        this.config = config;
        this.routing = routing;
        this.metrics = metrics;
        this.rankReader = new RankBodyReader(config.maxCandidates());
    }

    /**
     * Most rank bodies are read by streaming ({@link RankBodyReader}), encoded with the contract of the version the
     * previous request went to, and reused when the chosen version's contract is the same. A body it declines (bad
     * input, or a contract it cannot stream) is parsed into a tree, which is validated and gives every error; a
     * version with another contract encodes from the tree too. Past reading, both go the same way.
     */
    void rank(RoutingContext ctx) {
        RankBodyReader.RankBody read = rankReader.read(ctx.body().buffer(), rankContractHint);
        JsonObject tree = null;
        if (read == null) {
            metrics.rankBodyRead(false);
            tree = Bodies.object(ctx);
            RequestContext.requestId(ctx, tree);   // before validating, so that its errors echo the id
            String[] itemIds = validateRank(tree, config.maxCandidates());
            read = new RankBodyReader.RankBody(tree.getString("user_id"), tree.getValue("request_id"),
                    tree.getString("model_version"), tree.getValue("timeout_ms"), itemIds, null, null);
        }
        String requestId = RequestContext.requestId(ctx, read.requestId());
        long timeoutMs = Bodies.timeoutMillis(ctx, read.timeout());
        Routing.Selection sel = routing.select(config.rankModel(), read.modelVersion(), read.userId(), requestId,
                ctx.request()::getHeader);
        ModelConfig modelConfig = models.config(sel.key());
        FeatureContract contract = contract(modelConfig, sel.key(), FeatureContract.Api.RANK);
        rankContractHint = contract;
        boolean streamed = read.features() != null && contract.equals(read.contract());
        if (tree == null) {
            metrics.rankBodyRead(streamed);
        }
        Tensor features = streamed ? read.features() : contract.encode(tree != null ? tree : Bodies.object(ctx));
        score(ctx, sel, modelConfig, contract, features, timeoutMs, rankScores(read.itemIds()));
    }

    /**
     * Checks a parsed rank body's structure and limits ({@code user_id}, {@code context}, {@code candidates} and each
     * candidate's {@code item_id} and {@code features}, {@code model_version}), in that order; the contract checks
     * the fields when encoding. Returns the candidates' item ids.
     *
     * @throws WeirException INVALID_ARGUMENT naming the first offending field
     */
    static String[] validateRank(JsonObject body, int maxCandidates) {
        Bodies.requiredString(body, "user_id", 256);
        Object context = body.getValue("context");
        if (context != null && !(context instanceof JsonObject)) {
            throw WeirException.invalid("context must be an object");
        }
        if (context instanceof JsonObject c) {
            Bodies.optionalString(c, "locale", 64, "context.locale");
            Bodies.optionalString(c, "ts", 64, "context.ts");
        }
        Object cands = body.getValue("candidates");
        if (!(cands instanceof JsonArray candidates)) {
            throw WeirException.invalid("candidates must be an array");
        }
        if (candidates.isEmpty()) {
            throw WeirException.invalid("candidates must not be empty");
        }
        if (candidates.size() > maxCandidates) {
            throw WeirException.invalid("too many candidates: " + candidates.size() + " > " + maxCandidates);
        }
        // Each candidate is checked on the parsed tree's own maps: JsonArray.getValue and JsonObject.getValue wrap every
        // nested object they return in a new JsonObject, and an error's field name is built only when there is an error.
        String[] itemIds = new String[candidates.size()];
        for (int i = 0; i < itemIds.length; i++) {
            Map<?, ?> c = FeatureContract.objectMap(candidates.getList().get(i));
            if (c == null) {
                throw WeirException.invalid("candidates[" + i + "] must be an object");
            }
            Object id = c.get("item_id");
            itemIds[i] = id instanceof String s && !s.isEmpty() && s.length() <= 256
                    ? s : Bodies.requiredString(id, 256, "candidates[" + i + "].item_id");   // throws
            if (FeatureContract.objectMap(c.get("features")) == null) {
                throw WeirException.invalid("candidates[" + i + "].features must be an object");
            }
        }
        Bodies.optionalString(body, "model_version", 64, "model_version");
        return itemIds;
    }

    /** The answer's scores, written on this handler's event loop (where the result completes) with its float writer. */
    private ResponseShaper rankScores(String[] itemIds) {
        return (g, modelConfig, result) -> {
            float[] scores = result.floats();
            g.writeArrayFieldStart("scores");
            for (int i = 0; i < itemIds.length; i++) {
                g.writeStartObject();
                g.writeStringField("item_id", itemIds[i]);
                g.writeFieldName("score");
                scoreWriter.write(g, scores[i]);
                g.writeEndObject();
            }
            g.writeEndArray();
        };
    }

    void moderate(RoutingContext ctx) {
        JsonObject body = Bodies.object(ctx);
        String requestId = RequestContext.requestId(ctx, body);
        Object text = body.getValue("text");
        if (!(text instanceof String t)) {
            throw WeirException.invalid("text must be a string");
        }
        int chars = t.codePointCount(0, t.length());
        if (chars > config.maxTextChars()) {
            throw WeirException.invalid("text too long: " + chars + " characters > " + config.maxTextChars());
        }
        String requestedVersion = Bodies.optionalString(body, "model_version", 64, "model_version");
        long timeoutMs = Bodies.timeoutMillis(ctx, body);
        Routing.Selection sel = routing.select(config.moderateModel(), requestedVersion, null, requestId, ctx.request()::getHeader);
        ModelConfig modelConfig = models.config(sel.key());
        FeatureContract contract = contract(modelConfig, sel.key(), FeatureContract.Api.MODERATE);
        score(ctx, sel, modelConfig, contract, contract.encode(body), timeoutMs, (g, served, result) -> {
            float raw = result.floats()[0];
            g.writeFieldName("score");
            g.writeNumber(raw);
            if (served.label().isPresent()) {
                g.writeStringField("label", served.label().get().of(raw));
            }
        });
    }

    /**
     * Writes an answer's model-specific fields into the open response object; scores as FP32 values
     * ({@link ResponseJson}).
     */
    interface ResponseShaper {
        void write(JsonGenerator out, ModelConfig config, Tensor scores) throws IOException;
    }

    private static FeatureContract contract(ModelConfig config, ModelKey key, FeatureContract.Api api) {
        return config.featureContract().filter(c -> c.api() == api).orElseThrow(
                () -> new WeirException(io.weir.runtime.ErrorCode.INTERNAL, "model " + key + " has no " + api + " feature contract"));
    }

    private void score(RoutingContext ctx, Routing.Selection sel, ModelConfig modelConfig, FeatureContract contract,
                       Tensor features, long timeoutMs, ResponseShaper shaper) {
        ModelKey key = sel.key();
        ctx.put(RequestContext.MODEL, key.model());
        ctx.put(RequestContext.VERSION, key.version());
        ctx.put(RequestContext.ARM, sel.arm());
        Priority priority = Bodies.priority(ctx);
        String requestId = RequestContext.requestId(ctx);
        InferenceRequest request = models.request(key, Map.of(contract.input(), features), features.rows(), timeoutMs,
                RequestContext.unseenNanos(ctx), priority);
        models.submit(ctx.vertx().getOrCreateContext(), request)
                .onSuccess(result -> {
                    Tensor scores = result.outputs().get(contract.output());
                    for (float f : scores.floats()) {
                        if (!Float.isFinite(f)) {
                            // JSON has no NaN (it would go out as a string), and a NaN moderation score would
                            // compare as below the threshold: "ok". A model that cannot score is a fault, not an answer.
                            WeirException e = new WeirException(io.weir.runtime.ErrorCode.INTERNAL, key
                                    + " produced a non-finite score (" + f + ")");
                            HttpErrors.send(ctx, e, requestId);
                            routing.failed(sel, e, Bodies.elapsedNanos(ctx));
                            return;
                        }
                    }
                    Buffer out = ResponseJson.object(g -> {
                        shaper.write(g, modelConfig, scores);
                        g.writeStringField("served_model_version", key.version());
                        g.writeNumberField("latency_ms", Bodies.elapsedMillis(ctx));
                        g.writeStringField("request_id", requestId);
                    });
                    Bodies.sendJson(ctx, 200, out, sel.arm(), result.backend());
                    routing.completed(sel, request, result, Bodies.elapsedNanos(ctx));
                })
                .onFailure(err -> {
                    HttpErrors.send(ctx, err, requestId);
                    routing.failed(sel, err, Bodies.elapsedNanos(ctx));
                });
    }
}
