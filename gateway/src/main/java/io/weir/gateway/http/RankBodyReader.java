package io.weir.gateway.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.io.NumberInput;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.jackson.JacksonCodec;
import io.weir.runtime.Tensor;
import io.weir.runtime.features.ContractRows;
import io.weir.runtime.features.FeatureContract;

import java.io.IOException;
import java.util.Arrays;

/**
 * Reads a {@code POST /v1/rank:score} body in one streaming pass, validating it and encoding its feature rows as the
 * tokens go by, without building the JSON tree: the tree of a 50-candidate request was most of a ranker request's
 * garbage (docs/PERF.md, "Rank requests encoded while they are read").
 *
 * <p>It is a fast path only. It accepts exactly the requests the tree path ({@link NativeApi}) accepts, with the same
 * result, and it declines (returns null) at the first thing that path would refuse or that it does not handle: invalid
 * JSON or structure, a value out of its limits, a field the contract refuses, a duplicate key (the tree keeps the last
 * one), an object or array where a scalar belongs. The caller then parses the body into a tree, which gives the
 * client the tree path's error in its order; bad input is rare and pays for two reads. The parser is Vert.x's own
 * ({@link JacksonCodec#createParser(Buffer)}: the same factory and features, comments allowed), the body is read in
 * place, and values reach the contract as the tree would hold them ({@code getNumberValue}, {@code getText}), so
 * that {@link FeatureContract#encode} on the parsed body and this give the same floats; the two kinds of value a
 * ranker request has 50 of each skip the objects: a number for a numeric field is parsed from the parser's characters
 * (Jackson's fast parser, correctly rounded as {@code Double.parseDouble} is, so the same double), and a string for a
 * categorical field is hashed from them.
 *
 * <p>Design note. One instance per event loop (each {@link NativeApi} is), used by that loop's thread only: it keeps
 * a {@link ContractRows} for the contract it was last asked for, reused request after request.
 */
final class RankBodyReader {
    /**
     * What a rank request carries; {@code requestId} and {@code timeout} as the tree holds them. {@code features} are
     * the rows encoded with {@code contract}; both null for a request read from its tree (the handler encodes those).
     */
    record RankBody(String userId, Object requestId, String modelVersion, Object timeout, String[] itemIds,
                    Tensor features, FeatureContract contract) {
    }

    /** Thrown to unwind when the body is left to the tree path; no stack, as it is control flow. */
    private static final class Declined extends RuntimeException {
        Declined() {
            super("left to the tree path", null, false, false);
        }
    }

    private static final Declined DECLINED = new Declined();

    private final int maxCandidates;
    private ContractRows rows;

    RankBodyReader(int maxCandidates) {
        this.maxCandidates = maxCandidates;
    }

    /**
     * The request read from {@code body} with {@code contract}'s rows, or null when it is left to the tree path
     * (anything the tree path would refuse, a contract whose paths cannot be streamed, or no contract yet).
     */
    RankBody read(Buffer body, FeatureContract contract) {
        if (contract == null || body == null || body.length() == 0) {
            return null;
        }
        // Equal, not only the same: a primary and a canary parse the same contract into two instances, and a rollout
        // alternates between them request by request.
        if (rows == null || !rows.contract().equals(contract)) {
            rows = ContractRows.forContract(contract);
            if (rows == null) {
                return null;
            }
        }
        try (JsonParser p = JacksonCodec.createParser(body)) {
            return readBody(p);
        } catch (IOException | RuntimeException declined) {
            // Declined, a JSON error, or a field the contract refused: the tree path reads it again and says why.
            return null;
        }
    }

    private RankBody readBody(JsonParser p) throws IOException {
        if (p.nextToken() != JsonToken.START_OBJECT) {
            throw DECLINED;
        }
        rows.start();
        String userId = null;
        String modelVersion = null;
        Object requestId = null;
        Object timeout = null;
        String[] itemIds = null;
        boolean sawContext = false, sawModelVersion = false, sawRequestId = false, sawTimeout = false;
        for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
            String key = p.currentName();
            JsonToken v = p.nextToken();
            int node = visit(rows.requestRoot(), key);
            switch (key) {
                case "user_id" -> userId = requiredId(p, v, node, userId);
                case "context" -> {
                    sawContext = once(sawContext);
                    if (v == JsonToken.START_OBJECT) {
                        if (node != ContractRows.NONE && rows.isField(node)) {
                            throw DECLINED;   // a contract field that is the context itself: an object it refuses
                        }
                        readContext(p, node);
                    } else if (v != JsonToken.VALUE_NULL) {
                        throw DECLINED;
                    }
                }
                case "candidates" -> {
                    if (itemIds != null || v != JsonToken.START_ARRAY) {
                        throw DECLINED;
                    }
                    itemIds = readCandidates(p);
                }
                case "model_version" -> {
                    sawModelVersion = once(sawModelVersion);
                    modelVersion = v == JsonToken.VALUE_NULL ? null : boundedString(p, v, 64);
                    scalarInto(node, modelVersion);
                }
                case "request_id" -> {
                    sawRequestId = once(sawRequestId);
                    requestId = scalar(p, v);
                    scalarInto(node, requestId);
                }
                case "timeout_ms" -> {
                    sawTimeout = once(sawTimeout);
                    timeout = scalar(p, v);
                    scalarInto(node, timeout);
                }
                default -> any(p, v, node);
            }
        }
        if (p.nextToken() != null || userId == null || itemIds == null || itemIds.length == 0) {
            throw DECLINED;   // trailing tokens (the tree path refuses them), or required parts missing
        }
        Tensor features = rows.finish();
        return new RankBody(userId, requestId, modelVersion, timeout, itemIds, features, rows.contract());
    }

    /** {@code context}: {@code locale} and {@code ts} are optional strings of at most 64 characters. */
    private void readContext(JsonParser p, int node) throws IOException {
        boolean sawLocale = false, sawTs = false;
        for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
            String key = p.currentName();
            JsonToken v = p.nextToken();
            int child = visit(node, key);
            if (key.equals("locale") || key.equals("ts")) {
                if (key.equals("locale")) {
                    sawLocale = once(sawLocale);
                } else {
                    sawTs = once(sawTs);
                }
                if (v != JsonToken.VALUE_NULL && (v != JsonToken.VALUE_STRING || p.getTextLength() > 64)) {
                    throw DECLINED;
                }
            }
            any(p, v, child);
        }
    }

    /**
     * The candidates array, returning their item ids: each an object with a non-empty {@code item_id} of at most 256
     * characters and a {@code features} object.
     */
    private String[] readCandidates(JsonParser p) throws IOException {
        // A fresh array each request (young: storing into a long-lived one would cost G1's barriers), exact at the end.
        String[] ids = new String[Math.min(64, maxCandidates)];
        int n = 0;
        for (JsonToken t = p.nextToken(); t != JsonToken.END_ARRAY; t = p.nextToken()) {
            if (t != JsonToken.START_OBJECT || n == maxCandidates) {
                throw DECLINED;
            }
            rows.startRow();
            String itemId = null;
            boolean features = false;
            for (JsonToken k = p.nextToken(); k == JsonToken.FIELD_NAME; k = p.nextToken()) {
                String key = p.currentName();
                JsonToken v = p.nextToken();
                int node = visit(rows.candidateRoot(), key);
                if (key.equals("item_id")) {
                    itemId = requiredId(p, v, node, itemId);
                } else if (key.equals("features")) {
                    if (features || v != JsonToken.START_OBJECT) {
                        throw DECLINED;
                    }
                    features = true;
                    any(p, v, node);
                } else {
                    any(p, v, node);
                }
            }
            if (itemId == null || !features) {
                throw DECLINED;
            }
            rows.endRow();
            if (n == ids.length) {
                ids = Arrays.copyOf(ids, Math.min(2 * n, maxCandidates));
            }
            ids[n++] = itemId;
        }
        return n == ids.length ? ids : Arrays.copyOf(ids, n);
    }

    /** The node for {@code key} under {@code parent} (NONE under NONE), declining on a second visit in one object. */
    private int visit(int parent, String key) {
        if (parent == ContractRows.NONE) {
            return ContractRows.NONE;
        }
        int node = rows.child(parent, key);
        if (node != ContractRows.NONE && !rows.firstVisit(node)) {
            throw DECLINED;
        }
        return node;
    }

    /**
     * Any value at {@code node}: skipped where no field lies, encoded at a field (a scalar, or declined), walked key by
     * key at an object node (a scalar or array there leaves the fields below absent, as the tree's lookup does).
     */
    private void any(JsonParser p, JsonToken v, int node) throws IOException {
        if (node == ContractRows.NONE) {
            p.skipChildren();
        } else if (rows.isField(node)) {
            if (v == JsonToken.VALUE_NUMBER_FLOAT && rows.isNumeric(node)) {
                // The tree's Double, parsed without the String and parse buffers Jackson's getNumberValue makes (the
                // fast parser is correctly rounded, as Double.parseDouble is, so the value is the same double).
                rows.number(node, NumberInput.parseDouble(p.getTextCharacters(), p.getTextOffset(), p.getTextLength(),
                        true));
            } else if (v == JsonToken.VALUE_NUMBER_INT && rows.isNumeric(node)
                    && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
                rows.number(node, p.getNumberType() == JsonParser.NumberType.INT ? p.getIntValue()
                        : (double) p.getLongValue());
            } else if (v == JsonToken.VALUE_STRING && rows.isCategorical(node)) {
                rows.text(node, p.getTextCharacters(), p.getTextOffset(), p.getTextLength());
            } else {
                rows.value(node, scalar(p, v));
            }
        } else if (v == JsonToken.START_OBJECT) {
            for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
                String key = p.currentName();
                JsonToken child = p.nextToken();
                any(p, child, visit(node, key));
            }
        } else {
            p.skipChildren();
        }
    }

    /**
     * {@code user_id} or a candidate's {@code item_id}: a non-empty string of at most 256 characters, seen once
     * ({@code previous} is the value of an earlier occurrence, or null), and the contract's field there if it has one.
     */
    private String requiredId(JsonParser p, JsonToken v, int node, String previous) throws IOException {
        String id = previous == null ? boundedString(p, v, 256) : null;
        if (id == null || id.isEmpty()) {
            throw DECLINED;
        }
        scalarInto(node, id);
        return id;
    }

    /** A value already read for the API (a string, or null) that a contract field may also hold. */
    private void scalarInto(int node, Object value) {
        if (node != ContractRows.NONE && rows.isField(node)) {
            rows.value(node, value);
        }
    }

    /** A scalar as the tree holds it; an object or array is left to the tree path. */
    private static Object scalar(JsonParser p, JsonToken v) throws IOException {
        return switch (v) {
            case VALUE_STRING -> p.getText();
            case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT -> p.getNumberValue();
            case VALUE_TRUE -> Boolean.TRUE;
            case VALUE_FALSE -> Boolean.FALSE;
            case VALUE_NULL -> null;
            default -> throw DECLINED;
        };
    }

    /** A string of at most {@code max} characters (null for JSON null); anything else is declined. */
    private static String boundedString(JsonParser p, JsonToken v, int max) throws IOException {
        if (v == JsonToken.VALUE_NULL) {
            return null;
        }
        if (v != JsonToken.VALUE_STRING || p.getTextLength() > max) {
            throw DECLINED;
        }
        return p.getText();
    }

    private static boolean once(boolean seen) {
        if (seen) {
            throw DECLINED;
        }
        return true;
    }
}
