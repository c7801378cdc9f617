package io.weir.runtime.features;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.Tensor;
import io.weir.runtime.WeirException;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Maps a native-API request ({@code /v1/rank:score} or {@code /v1/moderate}) to the model's input tensor. The same
 * code encodes training data, golden sets and live traffic, so a model never sees features computed two ways.
 *
 * <p>Fields are read by path: {@code request.*} from the request body, {@code candidate.*} from each candidate of a
 * rank request (one row per candidate; request fields repeat on every row). Field types:
 * <ul>
 *   <li>{@code numeric}: a finite number, optionally {@code log1p}, then {@code (x - mean) / std}, which must be
 *       within FP32 range; width 1.</li>
 *   <li>{@code categorical}: a string (or number) hashed into {@code buckets}, one-hot; width {@code buckets}.</li>
 *   <li>{@code text_ngrams}: character n-grams ({@code n_min..n_max}) of the lower-cased text hashed into
 *       {@code buckets}, counted and L2-normalised; width {@code buckets}.</li>
 *   <li>{@code hour_of_day}: an ISO-8601 timestamp as (sin, cos) of the UTC hour; width 2.</li>
 * </ul>
 * Hashing is 64-bit FNV-1a over the UTF-8 bytes of {@code field name, NUL, value}: stable across JVMs and releases,
 * which the contract version promises.
 *
 * <p>Immutable and thread-safe.
 */
public final class FeatureContract {

    /** Which native API a contract serves. */
    public enum Api {
        RANK, MODERATE;

        static Api parse(String s) {
            return switch (s == null ? "" : s.toLowerCase(Locale.ROOT)) {
                case "rank" -> RANK;
                case "moderate" -> MODERATE;
                default -> throw new IllegalArgumentException("feature_contract.api must be 'rank' or 'moderate', not '" + s + "'");
            };
        }
    }

    enum FieldType { NUMERIC, CATEGORICAL, TEXT_NGRAMS, HOUR_OF_DAY }

    record Field(String name, boolean candidateScope, String[] path, FieldType type, boolean required,
                 int buckets, double mean, double std, boolean log1p, double defaultValue, int nMin, int nMax) {
        int width() {
            return switch (type) {
                case NUMERIC -> 1;
                case CATEGORICAL, TEXT_NGRAMS -> buckets;
                case HOUR_OF_DAY -> 2;
            };
        }

        String displayPath() {
            return String.join(".", path);
        }

        // A record compares arrays by reference; two fields with the same path are the same field.
        @Override
        public boolean equals(Object o) {
            return o instanceof Field g && name.equals(g.name) && candidateScope == g.candidateScope
                    && java.util.Arrays.equals(path, g.path) && type == g.type && required == g.required
                    && buckets == g.buckets && Double.compare(mean, g.mean) == 0 && Double.compare(std, g.std) == 0
                    && log1p == g.log1p && Double.compare(defaultValue, g.defaultValue) == 0 && nMin == g.nMin
                    && nMax == g.nMax;
        }

        @Override
        public int hashCode() {
            return 31 * name.hashCode() + java.util.Arrays.hashCode(path);
        }
    }

    private final String version;
    private final Api api;
    private final String input;
    private final String output;
    private final List<Field> fields;
    /** Per field (same index as {@code fields}): its first column in a row, and its hash seed ({@link #seed}). */
    private final int[] offsets;
    private final long[] seeds;
    private final int width;

    private FeatureContract(String version, Api api, String input, String output, List<Field> fields) {
        this.version = version;
        this.api = api;
        this.input = input;
        this.output = output;
        this.fields = List.copyOf(fields);
        this.offsets = new int[fields.size()];
        this.seeds = new long[fields.size()];
        int column = 0;
        for (int i = 0; i < fields.size(); i++) {
            offsets[i] = column;
            seeds[i] = seed(fields.get(i).name());
            column += fields.get(i).width();
        }
        this.width = column;
    }

    /** Parses the {@code feature_contract} object of a model config; throws IllegalArgumentException with the reason. */
    public static FeatureContract parse(JsonObject json) {
        String version = requireString(json, "version");
        Api api = Api.parse(json.getString("api"));
        String input = requireString(json, "input");
        String output = requireString(json, "output");
        JsonArray fs = json.getJsonArray("fields");
        if (fs == null || fs.isEmpty()) {
            throw new IllegalArgumentException("feature_contract.fields must list at least one field");
        }
        List<Field> fields = new ArrayList<>();
        for (int i = 0; i < fs.size(); i++) {
            JsonObject f = fs.getJsonObject(i);
            String name = requireString(f, "name");
            String path = requireString(f, "path");
            String[] parts = path.split("\\.");
            boolean candidate;
            if (parts[0].equals("request")) {
                candidate = false;
            } else if (parts[0].equals("candidate")) {
                if (api != Api.RANK) {
                    throw new IllegalArgumentException("field '" + name + "': candidate.* paths exist only for api 'rank'");
                }
                candidate = true;
            } else {
                throw new IllegalArgumentException("field '" + name + "': path must start with request. or candidate.");
            }
            if (parts.length < 2) {
                throw new IllegalArgumentException("field '" + name + "': path '" + path + "' names no field");
            }
            String[] rel = java.util.Arrays.copyOfRange(parts, 1, parts.length);
            FieldType type = switch (requireString(f, "type")) {
                case "numeric" -> FieldType.NUMERIC;
                case "categorical" -> FieldType.CATEGORICAL;
                case "text_ngrams" -> FieldType.TEXT_NGRAMS;
                case "hour_of_day" -> FieldType.HOUR_OF_DAY;
                default -> throw new IllegalArgumentException("field '" + name + "': unknown type '" + f.getString("type") + "'");
            };
            int buckets = f.getInteger("buckets", 0);
            if ((type == FieldType.CATEGORICAL || type == FieldType.TEXT_NGRAMS) && buckets <= 0) {
                throw new IllegalArgumentException("field '" + name + "': buckets must be positive");
            }
            double std = f.getDouble("std", 1.0);
            if (!(std > 0) || !Double.isFinite(std)) {
                throw new IllegalArgumentException("field '" + name + "': std must be a positive number");
            }
            String scale = f.getString("scale", "none");
            if (!scale.equals("none") && !scale.equals("log1p")) {
                throw new IllegalArgumentException("field '" + name + "': scale must be 'none' or 'log1p'");
            }
            int nMin = f.getInteger("n_min", 1);
            int nMax = f.getInteger("n_max", 3);
            if (nMin < 1 || nMax < nMin) {
                throw new IllegalArgumentException("field '" + name + "': need 1 <= n_min <= n_max");
            }
            fields.add(new Field(name, candidate, rel, type, f.getBoolean("required", false), buckets,
                    f.getDouble("mean", 0.0), std, scale.equals("log1p"), f.getDouble("default", 0.0), nMin, nMax));
        }
        return new FeatureContract(version, api, input, output, fields);
    }

    private static String requireString(JsonObject json, String key) {
        Object v = json.getValue(key);
        if (!(v instanceof String s) || s.isBlank()) {
            throw new IllegalArgumentException("feature_contract: '" + key + "' must be a non-empty string");
        }
        return s;
    }

    public String version() {
        return version;
    }

    public Api api() {
        return api;
    }

    /** Name of the model input the contract fills. */
    public String input() {
        return input;
    }

    /** Name of the model output holding the score (one value per row). */
    public String output() {
        return output;
    }

    /** Features per row. */
    public int width() {
        return width;
    }

    /**
     * Encodes a request into a {@code [rows, width]} FP32 tensor: one row per candidate for {@code rank}, one row for
     * {@code moderate}. The request's structure (candidates array, text length) is validated by the API layer;
     * this checks each declared field's type and presence.
     *
     * <p>Request-scope fields are encoded once and copied into every candidate's row: they are the same on every row,
     * and a timestamp parsed 50 times per request cost the ranker a third of its request CPU (docs/PERF.md).
     *
     * @throws WeirException INVALID_ARGUMENT naming the offending field
     */
    public Tensor encode(JsonObject request) {
        if (api == Api.RANK) {
            JsonArray candidates = request.getJsonArray("candidates");
            int rows = candidates.size();
            float[] out = new float[rows * width];
            float[] requestPart = new float[width];
            encodeFields(false, request, -1, requestPart, 0);
            for (int r = 0; r < rows; r++) {
                System.arraycopy(requestPart, 0, out, r * width, width);
                Map<?, ?> candidate = objectMap(candidates.getList().get(r));   // unwrapped (see lookup)
                if (candidate == null) {
                    throw WeirException.invalid("candidates[" + r + "] must be an object");
                }
                encodeFields(true, candidate, r, out, r * width);
            }
            return Tensor.ofFloats(new long[] {rows, width}, out);
        }
        float[] out = new float[width];
        encodeFields(false, request, -1, out, 0);
        return Tensor.ofFloats(new long[] {1, width}, out);
    }

    /** Encodes the fields of one scope ({@code candidate.*} or {@code request.*}) read from {@code root} into a row. */
    private void encodeFields(boolean candidateScope, Object root, int index, float[] out, int offset) {
        for (int i = 0; i < fields.size(); i++) {
            if (fields.get(i).candidateScope == candidateScope) {
                encodeField(i, lookup(root, fields.get(i).path), index, out, offset);
            }
        }
    }

    /**
     * Encodes field {@code i}'s value as the parsed JSON tree holds it ({@code String}, {@code Number},
     * {@code Boolean}; null when absent) into the row starting at {@code offset}, touching only the field's own
     * columns. {@code index} is the candidate's index, for error messages. Shared by the tree encoder above and by
     * {@link ContractRows}, so a streamed request is encoded by the same code as a parsed one.
     */
    void encodeField(int i, Object value, int index, float[] out, int offset) {
        Field f = fields.get(i);
        int pos = offset + offsets[i];
        if (value == null && f.required) {
            throw WeirException.invalid(where(f, index) + " is required");
        }
        switch (f.type) {
            case NUMERIC -> out[pos] = numeric(f, value, index);
            case CATEGORICAL -> {
                if (value != null) {
                    String s = scalarString(f, value, index);
                    out[pos + bucket(seeds[i], s, f.buckets)] = 1f;
                }
            }
            case TEXT_NGRAMS -> {
                if (value != null) {
                    if (!(value instanceof String s)) {
                        throw WeirException.invalid(where(f, index) + " must be a string");
                    }
                    textNgrams(f, seeds[i], s, out, pos);
                }
            }
            case HOUR_OF_DAY -> {
                if (value != null) {
                    double hour = hourOfDay(f, value, index);
                    double angle = 2 * Math.PI * hour / 24.0;
                    out[pos] = (float) StrictMath.sin(angle);
                    out[pos + 1] = (float) StrictMath.cos(angle);
                }
            }
        }
    }

    /**
     * {@link #encodeField} for a {@code numeric} field whose value is the JSON number {@code x} (what
     * {@code Number.doubleValue()} gives on the tree's value): a streaming reader need not box it.
     */
    void encodeNumber(int i, double x, int index, float[] out, int offset) {
        Field f = fields.get(i);
        if (f.type != FieldType.NUMERIC) {
            throw new IllegalStateException("field " + f.name + " is not numeric");
        }
        out[offset + offsets[i]] = numeric(f, x, index);
    }

    /**
     * {@link #encodeField} for a {@code categorical} field whose value is the JSON string {@code value}: a streaming
     * reader passes a view of the parser's characters, so no String is made for it.
     */
    void encodeCategorical(int i, CharSequence value, float[] out, int offset) {
        Field f = fields.get(i);
        if (f.type != FieldType.CATEGORICAL) {
            throw new IllegalStateException("field " + f.name + " is not categorical");
        }
        out[offset + offsets[i] + bucket(seeds[i], value, f.buckets)] = 1f;
    }

    boolean isNumeric(int i) {
        return fields.get(i).type == FieldType.NUMERIC;
    }

    boolean isCategorical(int i) {
        return fields.get(i).type == FieldType.CATEGORICAL;
    }

    boolean isHourOfDay(int i) {
        return fields.get(i).type == FieldType.HOUR_OF_DAY;
    }

    /** The declared fields, in column order (for {@link ContractRows}). */
    List<Field> fields() {
        return fields;
    }

    /** Field {@code i}'s first column in a row. */
    int offset(int i) {
        return offsets[i];
    }

    /**
     * Two contracts are equal when they encode every request alike: the same version, API, input, output and fields
     * (names, paths, types and parameters). A caller that encoded a request with one version's contract may reuse the
     * tensor for another version whose contract equals it.
     */
    @Override
    public boolean equals(Object o) {
        return o == this || o instanceof FeatureContract c && version.equals(c.version) && api == c.api
                && input.equals(c.input) && output.equals(c.output) && fields.equals(c.fields);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(version, api, input, output, fields);
    }

    /** The field's path as the client wrote it, for error messages only (built on failure, never per row). */
    private static String where(Field f, int index) {
        return f.candidateScope ? "candidates[" + index + "]." + f.displayPath() : f.displayPath();
    }

    /**
     * The value at {@code path} under {@code root} (a {@code JsonObject} or the {@code Map} inside one), walking the
     * JSON tree's own maps: {@code JsonObject.getValue} wraps every nested object it returns in a new
     * {@code JsonObject}, and a 50-candidate ranker request passed through each candidate's {@code features} that way
     * once per field. A nested object or array at the end comes back as its {@code Map} or {@code List}, which every
     * field type refuses with the same message as it would the wrapped one.
     */
    private static Object lookup(Object root, String[] path) {
        Object cur = root;
        for (String p : path) {
            Map<?, ?> m = objectMap(cur);
            if (m == null) {
                return null;
            }
            cur = m.get(p);
        }
        return cur;
    }

    /**
     * A JSON object value as the map it holds, without wrapping it ({@code JsonObject.getValue} would make a new
     * {@code JsonObject}): a parsed tree holds {@code Map}s, a tree built in code {@code JsonObject}s. Null when the
     * value is not an object. The rank handler validates candidates with it too.
     */
    public static Map<?, ?> objectMap(Object value) {
        return value instanceof JsonObject o ? o.getMap() : value instanceof Map<?, ?> m ? m : null;
    }

    private static float numeric(Field f, Object value, int index) {
        double x;
        if (value == null) {
            x = f.defaultValue;
        } else if (value instanceof Number n) {
            x = n.doubleValue();
        } else {
            throw WeirException.invalid(where(f, index) + " must be a number");
        }
        return numeric(f, x, index);
    }

    private static float numeric(Field f, double x, int index) {
        if (!Double.isFinite(x)) {
            throw WeirException.invalid(where(f, index) + " must be finite");
        }
        if (f.log1p) {
            if (x <= -1) {
                throw WeirException.invalid(where(f, index) + " must be greater than -1");
            }
            x = StrictMath.log1p(x);
        }
        float scaled = (float) ((x - f.mean) / f.std);
        if (!Float.isFinite(scaled)) {
            // A finite double past FP32's range (1e39) would reach the model as Infinity.
            throw WeirException.invalid(where(f, index) + " is out of FP32 range");
        }
        return scaled;
    }

    private static String scalarString(Field f, Object value, int index) {
        if (value instanceof String s) {
            return s;
        }
        if (value instanceof Number || value instanceof Boolean) {
            return String.valueOf(value);
        }
        throw WeirException.invalid(where(f, index) + " must be a string");
    }

    private static double hourOfDay(Field f, Object value, int index) {
        if (!(value instanceof String s)) {
            throw WeirException.invalid(where(f, index) + " must be an ISO-8601 timestamp string");
        }
        try {
            OffsetDateTime t = OffsetDateTime.parse(s).withOffsetSameInstant(ZoneOffset.UTC);
            return t.getHour() + t.getMinute() / 60.0;
        } catch (DateTimeParseException e) {
            throw WeirException.invalid(where(f, index) + " is not an ISO-8601 timestamp with offset: '" + abbreviate(s) + "'");
        }
    }

    /** Counts the text's hashed character n-grams, hashing code points in place (no String per n-gram). */
    private static void textNgrams(Field f, long seed, String text, float[] out, int pos) {
        String t = text.toLowerCase(Locale.ROOT);
        // The code points as String.codePoints() gives them (a lone surrogate as itself), into one array of at most the
        // text's length: the stream's toArray built it through a spined buffer and a copy.
        int[] cps = new int[t.length()];
        int count = 0;
        for (int i = 0; i < t.length(); ) {
            int cp = t.codePointAt(i);
            cps[count++] = cp;
            i += Character.charCount(cp);
        }
        double sumSq = 0;
        for (int n = f.nMin; n <= f.nMax; n++) {
            for (int i = 0; i + n <= count; i++) {
                long h = seed;
                for (int k = i; k < i + n; k++) {
                    h = fnvUtf8(h, cps[k]);
                }
                int b = (int) Long.remainderUnsigned(h, f.buckets);
                float before = out[pos + b];
                out[pos + b] = before + 1f;
                sumSq += 2 * before + 1; // (c+1)^2 - c^2
            }
        }
        if (sumSq > 0) {
            float inv = (float) (1.0 / Math.sqrt(sumSq));
            for (int i = 0; i < f.buckets; i++) {
                out[pos + i] *= inv;
            }
        }
    }

    private static final long FNV_OFFSET = 0xcbf29ce484222325L;
    private static final long FNV_PRIME = 0x100000001b3L;

    /** Stable bucket of a value: FNV-1a 64 over UTF-8 of {@code field NUL value}, unsigned mod buckets. */
    public static int bucket(String field, String value, int buckets) {
        return bucket(seed(field), value, buckets);
    }

    /** The FNV-1a state after {@code field NUL}: the part of every hash of one field that does not depend on the value. */
    static long seed(String field) {
        long h = fnv(FNV_OFFSET, field.getBytes(StandardCharsets.UTF_8));
        return (h ^ 0) * FNV_PRIME;
    }

    /** The bucket of a String or of a view of a parser's characters: one hash for both, as the contract promises. */
    private static int bucket(long seed, CharSequence value, int buckets) {
        long h = seed;
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c >= 0x80) {
                // Non-ASCII: let the JDK's UTF-8 encoder decide (surrogate pairs, lone surrogates as '?').
                h = fnv(h, value.subSequence(i, value.length()).toString().getBytes(StandardCharsets.UTF_8));
                break;
            }
            h = (h ^ c) * FNV_PRIME;
        }
        return (int) Long.remainderUnsigned(h, buckets);
    }

    private static long fnv(long h, byte[] bytes) {
        for (byte b : bytes) {
            h = (h ^ (b & 0xff)) * FNV_PRIME;
        }
        return h;
    }

    /**
     * Feeds one code point's UTF-8 bytes to FNV-1a, as {@code String.getBytes(UTF_8)} would produce them: a surrogate
     * code point (only a lone surrogate reaches here, pairs arrive combined) is encoded as {@code '?'}.
     */
    private static long fnvUtf8(long h, int cp) {
        if (cp < 0x80) {
            return (h ^ cp) * FNV_PRIME;
        }
        if (cp < 0x800) {
            h = (h ^ (0xc0 | (cp >> 6))) * FNV_PRIME;
            return (h ^ (0x80 | (cp & 0x3f))) * FNV_PRIME;
        }
        if (Character.isSurrogate((char) cp) && cp <= 0xffff) {
            return (h ^ '?') * FNV_PRIME;
        }
        if (cp < 0x10000) {
            h = (h ^ (0xe0 | (cp >> 12))) * FNV_PRIME;
            h = (h ^ (0x80 | ((cp >> 6) & 0x3f))) * FNV_PRIME;
            return (h ^ (0x80 | (cp & 0x3f))) * FNV_PRIME;
        }
        h = (h ^ (0xf0 | (cp >> 18))) * FNV_PRIME;
        h = (h ^ (0x80 | ((cp >> 12) & 0x3f))) * FNV_PRIME;
        h = (h ^ (0x80 | ((cp >> 6) & 0x3f))) * FNV_PRIME;
        return (h ^ (0x80 | (cp & 0x3f))) * FNV_PRIME;
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
