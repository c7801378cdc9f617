package io.weir.runtime.features;

import io.weir.runtime.Tensor;
import io.weir.runtime.WeirException;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A rank request's feature rows, encoded while a reader streams the request's JSON instead of building its tree.
 * Parsing a 50-candidate body into maps was 43 of the 69 KB of garbage a ranker request made (docs/PERF.md, "Rank
 * requests encoded while they are read"); with this, a reader keeps only what the contract and the API need.
 *
 * <p>How a reader drives it: {@link #start} a request; for each key of a JSON object in the request's scope ask
 * {@link #child} of the object's node ({@link #requestRoot} for the body, {@link #candidateRoot} for a candidate);
 * a key with no node holds no field and is skipped; a node seen twice in one object is a duplicate key, which the
 * parsed tree would resolve to its last value, so {@link #firstVisit} reports it and the reader gives up. A node
 * that {@link #isField} takes its scalar value ({@link #value}, with the same Java type the parsed tree holds: String,
 * Number, Boolean or null; or, without the object, a numeric field's number as {@link #number} and a categorical
 * field's string as {@link #text}); any other node is an object to walk (a scalar or array there leaves the fields
 * below it absent, as the tree's lookup does). Each candidate is bracketed by {@link #startRow} and {@link #endRow}, and
 * {@link #finish} returns the {@code [rows, width]} tensor. Values are encoded by the contract's own
 * {@code encodeField}, so the rows are the ones {@link FeatureContract#encode} gives for the parsed request: request
 * fields may come before or after the candidates (their columns are kept apart and copied into every row at the end),
 * absent fields get their defaults at the end of their scope, and any field the contract refuses throws the same
 * {@link WeirException} (a reader that stops there and hands the request to the tree path reports errors in the
 * tree path's order).
 *
 * <p>Design note. Mutable, owned by one thread (a gateway event loop) and reused request after request: the rows
 * are written into a scratch array that grows to the largest request seen, and only {@link #finish} allocates (the
 * tensor's exact array). The path plan (a trie of each scope's field paths, nodes numbered per scope so that a
 * {@code long} marks which a JSON object has visited) is built once per contract; {@link #forContract} is null for a
 * contract it cannot serve: more than 64 nodes in a scope, a path that is both a field and the parent of another, or
 * a request path under {@code candidates} (the rank API's own array).
 */
public final class ContractRows {
    /** {@link #child}'s answer for a key that holds no field. */
    public static final int NONE = -1;

    private final FeatureContract contract;
    private final int width;
    /** Per node: its children by key (null for a field), the field it is (-1 for an object), its scope and bit. */
    private final Map<String, Integer>[] children;
    private final int[] field;
    private final boolean[] candidateNode;
    private final long[] bit;
    private final int requestRoot;
    private final int candidateRoot;
    /** Fields of each scope, and the column ranges of the request scope (copied into every row at the end). */
    private final int[] requestFields;
    private final int[] candidateFields;
    private final int[] requestColumnRanges;
    /** Per field index: its bit among the fields of its scope (for the encoded masks). */
    private final long[] scopeBit;

    /**
     * Per hour_of_day field: the last timestamp text encoded and its two columns. Parsing the timestamp was 6% of the
     * ranker's Java CPU at saturation (JFR), and clients stamp many requests in a row with the same text.
     */
    private final String[] lastTimestamp;
    private final float[] lastHourColumns;

    private final float[] requestPart;
    private final CharsView view = new CharsView();
    private float[] rowsScratch = new float[0];
    private int rows;
    private long requestVisited;
    private long rowVisited;
    /** Fields given a value in the current scope (bit per field index; at most 64 fields per scope by the plan). */
    private long requestEncoded;
    private long rowEncoded;

    @SuppressWarnings("unchecked")
    private ContractRows(FeatureContract contract, List<Map<String, Integer>> children, List<Integer> field,
                         List<Boolean> candidateNode, List<Long> bit, int candidateRoot) {
        this.contract = contract;
        this.width = contract.width();
        this.children = children.toArray(new Map[0]);
        this.field = field.stream().mapToInt(Integer::intValue).toArray();
        this.candidateNode = new boolean[candidateNode.size()];
        for (int i = 0; i < this.candidateNode.length; i++) {
            this.candidateNode[i] = candidateNode.get(i);
        }
        this.bit = bit.stream().mapToLong(Long::longValue).toArray();
        this.requestRoot = 0;
        this.candidateRoot = candidateRoot;
        List<FeatureContract.Field> fs = contract.fields();
        this.requestFields = java.util.stream.IntStream.range(0, fs.size()).filter(i -> !fs.get(i).candidateScope()).toArray();
        this.candidateFields = java.util.stream.IntStream.range(0, fs.size()).filter(i -> fs.get(i).candidateScope()).toArray();
        int[] ranges = new int[2 * requestFields.length];
        for (int k = 0; k < requestFields.length; k++) {
            ranges[2 * k] = contract.offset(requestFields[k]);
            ranges[2 * k + 1] = fs.get(requestFields[k]).width();
        }
        this.requestColumnRanges = ranges;
        this.scopeBit = new long[fs.size()];
        for (int k = 0; k < requestFields.length; k++) {
            scopeBit[requestFields[k]] = 1L << k;
        }
        for (int k = 0; k < candidateFields.length; k++) {
            scopeBit[candidateFields[k]] = 1L << k;
        }
        this.requestPart = new float[width];
        this.lastTimestamp = new String[fs.size()];
        this.lastHourColumns = new float[2 * fs.size()];
    }

    /** The rows writer for a rank contract, or null when its paths cannot be streamed (see the class comment). */
    public static ContractRows forContract(FeatureContract contract) {
        if (contract.api() != FeatureContract.Api.RANK) {
            return null;
        }
        List<Map<String, Integer>> children = new ArrayList<>();
        List<Integer> field = new ArrayList<>();
        List<Boolean> candidate = new ArrayList<>();
        List<Long> bit = new ArrayList<>();
        int[] scopeNodes = new int[2];
        int requestRoot = addNode(children, field, candidate, bit, scopeNodes, false);
        int candidateRoot = addNode(children, field, candidate, bit, scopeNodes, true);
        List<FeatureContract.Field> fs = contract.fields();
        for (int i = 0; i < fs.size(); i++) {
            FeatureContract.Field f = fs.get(i);
            if (!f.candidateScope() && f.path()[0].equals("candidates")) {
                return null;
            }
            int node = f.candidateScope() ? candidateRoot : requestRoot;
            for (int d = 0; d < f.path().length; d++) {
                Map<String, Integer> kids = children.get(node);
                if (kids == null) {
                    return null;   // a field's path runs through another field
                }
                Integer next = kids.get(f.path()[d]);
                if (next == null) {
                    next = addNode(children, field, candidate, bit, scopeNodes, f.candidateScope());
                    if (next < 0) {
                        return null;
                    }
                    kids.put(f.path()[d], next);
                }
                node = next;
            }
            if (field.get(node) >= 0 || !children.get(node).isEmpty()) {
                return null;   // the same path twice, or a field that is also the parent of another
            }
            field.set(node, i);
            children.set(node, null);
        }
        return new ContractRows(contract, children, field, candidate, bit, candidateRoot);
    }

    private static int addNode(List<Map<String, Integer>> children, List<Integer> field, List<Boolean> candidate,
                               List<Long> bit, int[] scopeNodes, boolean candidateScope) {
        int local = scopeNodes[candidateScope ? 1 : 0]++;
        if (local >= 64) {
            return -1;
        }
        children.add(new HashMap<>());
        field.add(-1);
        candidate.add(candidateScope);
        bit.add(1L << local);
        return children.size() - 1;
    }

    public FeatureContract contract() {
        return contract;
    }

    public int requestRoot() {
        return requestRoot;
    }

    public int candidateRoot() {
        return candidateRoot;
    }

    /** The node under {@code node} for {@code key}, or {@link #NONE} when no field lies there. */
    public int child(int node, String key) {
        Map<String, Integer> kids = children[node];
        Integer c = kids == null ? null : kids.get(key);
        return c == null ? NONE : c;
    }

    public boolean isField(int node) {
        return field[node] >= 0;
    }

    /** Marks {@code node} visited in its scope (the request, or the current candidate); false if it already was. */
    public boolean firstVisit(int node) {
        if (candidateNode[node]) {
            boolean first = (rowVisited & bit[node]) == 0;
            rowVisited |= bit[node];
            return first;
        }
        boolean first = (requestVisited & bit[node]) == 0;
        requestVisited |= bit[node];
        return first;
    }

    /** Starts a request: no rows, no request field seen. */
    public void start() {
        rows = 0;
        Arrays.fill(requestPart, 0f);
        requestVisited = 0;
        requestEncoded = 0;
    }

    /** Starts the next candidate's row. */
    public void startRow() {
        int need = (rows + 1) * width;
        if (rowsScratch.length < need) {
            rowsScratch = Arrays.copyOf(rowsScratch, Math.max(need, 2 * rowsScratch.length));
        }
        Arrays.fill(rowsScratch, rows * width, need, 0f);
        rows++;
        rowVisited = 0;
        rowEncoded = 0;
    }

    /**
     * The value of field node {@code node}, as the parsed tree would hold it (null: JSON null, which reads as absent).
     *
     * @throws WeirException the contract's error for the value
     */
    public void value(int node, Object value) {
        if (value == null) {
            return;   // absent: encoded with the field's default at the end of its scope
        }
        encode(field[node], value, index(node), target(node), offset(node));
        encoded(node);
    }

    /** The candidate's index for error messages (-1 in the request scope). */
    private int index(int node) {
        return candidateNode[node] ? rows - 1 : -1;
    }

    /** Where a node's scope is written: the current candidate's row, or the request's own columns. */
    private float[] target(int node) {
        return candidateNode[node] ? rowsScratch : requestPart;
    }

    private int offset(int node) {
        return candidateNode[node] ? (rows - 1) * width : 0;
    }

    private void encoded(int node) {
        if (candidateNode[node]) {
            rowEncoded |= scopeBit[field[node]];
        } else {
            requestEncoded |= scopeBit[field[node]];
        }
    }

    /** The contract's encoding of one value, with an hour_of_day field's last timestamp remembered. */
    private void encode(int f, Object value, int index, float[] out, int offset) {
        if (!contract.isHourOfDay(f) || !(value instanceof String text)) {
            contract.encodeField(f, value, index, out, offset);
            return;
        }
        int pos = offset + contract.offset(f);
        if (!text.equals(lastTimestamp[f])) {
            contract.encodeField(f, text, index, out, offset);   // writes both columns, or throws (nothing remembered)
            lastHourColumns[2 * f] = out[pos];
            lastHourColumns[2 * f + 1] = out[pos + 1];
            lastTimestamp[f] = text;
            return;
        }
        out[pos] = lastHourColumns[2 * f];
        out[pos + 1] = lastHourColumns[2 * f + 1];
    }

    /** Whether field node {@code node} takes a JSON number as a double ({@link #number}). */
    public boolean isNumeric(int node) {
        return contract.isNumeric(field[node]);
    }

    /** Whether field node {@code node} takes a JSON string as characters ({@link #text}). */
    public boolean isCategorical(int node) {
        return contract.isCategorical(field[node]);
    }

    /**
     * A numeric field's JSON number, as {@code doubleValue()} of the tree's {@code Number} (no box on the way).
     *
     * @throws WeirException the contract's error for the value (not finite, out of its scale's domain)
     */
    public void number(int node, double x) {
        contract.encodeNumber(field[node], x, index(node), target(node), offset(node));
        encoded(node);
    }

    /** A categorical field's JSON string, as the characters the parser holds (no String on the way). */
    public void text(int node, char[] chars, int off, int len) {
        contract.encodeCategorical(field[node], view.of(chars, off, len), target(node), offset(node));
        encoded(node);
    }

    /** A reusable view of a parser's characters, so that hashing a categorical value makes no String. */
    private static final class CharsView implements CharSequence {
        private char[] chars;
        private int off;
        private int len;

        CharsView of(char[] chars, int off, int len) {
            this.chars = chars;
            this.off = off;
            this.len = len;
            return this;
        }

        @Override
        public int length() {
            return len;
        }

        @Override
        public char charAt(int index) {
            return chars[off + index];
        }

        @Override
        public CharSequence subSequence(int start, int end) {
            return new String(chars, off + start, end - start);
        }

        @Override
        public String toString() {
            return new String(chars, off, len);
        }
    }

    /**
     * Ends the current candidate's row: its absent fields take their defaults.
     *
     * @throws WeirException when a required field is absent
     */
    public void endRow() {
        for (int k = 0; k < candidateFields.length; k++) {
            if ((rowEncoded & (1L << k)) == 0) {
                contract.encodeField(candidateFields[k], null, rows - 1, rowsScratch, (rows - 1) * width);
            }
        }
    }

    /**
     * The request's {@code [rows, width]} tensor: each candidate's row with the request fields' columns.
     *
     * @throws WeirException when a required request field is absent
     */
    public Tensor finish() {
        for (int k = 0; k < requestFields.length; k++) {
            if ((requestEncoded & (1L << k)) == 0) {
                contract.encodeField(requestFields[k], null, -1, requestPart, 0);
            }
        }
        float[] out = Arrays.copyOf(rowsScratch, rows * width);
        for (int r = 0; r < rows; r++) {
            int row = r * width;
            for (int k = 0; k < requestColumnRanges.length; k += 2) {
                System.arraycopy(requestPart, requestColumnRanges[k], out, row + requestColumnRanges[k], requestColumnRanges[k + 1]);
            }
        }
        return Tensor.ofFloats(new long[] {rows, width}, out);
    }
}
