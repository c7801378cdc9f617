package io.weir.gateway.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.Tensor;
import io.weir.runtime.features.FeatureContract;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The streaming rank reader against the tree path it stands in for: on seeded random bodies (keys in any order,
 * request fields before or after the candidates, unknown keys holding nested values, every number form, escapes,
 * comments) it must give bit for bit the rows {@link FeatureContract#encode} gives on the parsed body, the same item
 * ids and the same request values; on seeded broken bodies (each one mutation of a valid one) it must decline
 * whenever the tree path refuses, so that the client gets the tree path's error.
 */
class RankBodyReaderTest {
    private static final String CONTRACT_JSON = """
            {"version":"t-1","api":"rank","input":"features","output":"score","fields":[
              {"name":"user","path":"request.user_id","type":"categorical","buckets":32},
              {"name":"hour","path":"request.context.ts","type":"hour_of_day"},
              {"name":"price","path":"candidate.features.price","type":"numeric","scale":"log1p","mean":2.8,"std":1.2,"required":true},
              {"name":"query","path":"request.context.query","type":"text_ngrams","buckets":64,"n_min":1,"n_max":3},
              {"name":"category","path":"candidate.features.category","type":"categorical","buckets":16,"required":true},
              {"name":"title","path":"candidate.title","type":"text_ngrams","buckets":97,"n_min":2,"n_max":4},
              {"name":"age","path":"candidate.features.age","type":"numeric","default":3.5},
              {"name":"region","path":"request.geo.region","type":"categorical","buckets":8}
            ]}""";
    private static final FeatureContract CONTRACT = FeatureContract.parse(new JsonObject(CONTRACT_JSON));
    private static final int MAX_CANDIDATES = 80;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597})
    void validBodiesReadAsTheTreeReadsThem(long seed) {
        Random random = new Random(seed);
        RankBodyReader reader = new RankBodyReader(MAX_CANDIDATES);
        for (int i = 0; i < 40; i++) {
            String body = write(validBody(random), random);
            RankBodyReader.RankBody read = reader.read(Buffer.buffer(body), CONTRACT);
            assertThat(read).as("declined a valid body: %s", body).isNotNull();
            assertSameAsTree(read, body);
        }
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {7, 11, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53})
    void brokenBodiesAreLeftToTheTreePathWheneverItRefusesThem(long seed) {
        Random random = new Random(seed);
        RankBodyReader reader = new RankBodyReader(MAX_CANDIDATES);
        int refusedByTree = 0;
        for (int i = 0; i < 60; i++) {
            Obj body = validBody(random);
            String mutation = mutate(body, random);
            String text = write(body, random) + (mutation.equals("trailing") ? " {}" : "");
            RankBodyReader.RankBody read = reader.read(Buffer.buffer(text), CONTRACT);
            Tree tree = tree(text);
            if (tree == null) {
                refusedByTree++;
                assertThat(read).as("%s: accepted a body the tree path refuses: %s", mutation, text).isNull();
            } else if (read != null) {
                assertSameAsTree(read, text);
            }
            // The reader is reused: a refused body must not leave anything behind for the next one.
            String valid = write(validBody(random), random);
            RankBodyReader.RankBody after = reader.read(Buffer.buffer(valid), CONTRACT);
            assertThat(after).isNotNull();
            assertSameAsTree(after, valid);
        }
        assertThat(refusedByTree).as("mutations the tree path refused").isGreaterThan(30);
    }

    @Test
    void theDemoRankerRequestIsReadAsTheTreeReadsIt() {
        String body = """
                {"user_id":"u-42","context":{"locale":"en-US","ts":"2026-11-26T10:15:00Z"},"request_id":"r-1",
                 "candidates":[{"item_id":"i-1","features":{"price":12.5,"category":"garden"}},
                               {"item_id":"i-2","features":{"price":3,"category":"tools","ctr":0.1}}]}""";
        RankBodyReader.RankBody read = new RankBodyReader(MAX_CANDIDATES).read(Buffer.buffer(body), CONTRACT);
        assertThat(read).isNotNull();
        assertThat(read.itemIds()).containsExactly("i-1", "i-2");
        assertThat(read.requestId()).isEqualTo("r-1");
        assertSameAsTree(read, body);
    }

    /** A primary and a canary parse one contract into two equal instances; alternating between them keeps one plan. */
    @Test
    void equalContractsShareTheReadersPlan() {
        FeatureContract canary = FeatureContract.parse(new JsonObject(CONTRACT_JSON));
        assertThat(canary).isNotSameAs(CONTRACT).isEqualTo(CONTRACT);
        RankBodyReader reader = new RankBodyReader(MAX_CANDIDATES);
        String body = write(validBody(new Random(5)), new Random(6));
        for (int i = 0; i < 4; i++) {
            RankBodyReader.RankBody read = reader.read(Buffer.buffer(body), i % 2 == 0 ? CONTRACT : canary);
            assertThat(read.contract()).isSameAs(CONTRACT);
            assertSameAsTree(read, body);
        }
    }

    @Test
    void duplicateKeysAndContractsWithOverlappingPathsAreLeftToTheTreePath() {
        RankBodyReader reader = new RankBodyReader(MAX_CANDIDATES);
        String duplicatePrice = """
                {"user_id":"u","candidates":[{"item_id":"i","features":{"price":1,"category":"a","price":2}}]}""";
        assertThat(reader.read(Buffer.buffer(duplicatePrice), CONTRACT)).isNull();
        assertThat(tree(duplicatePrice)).isNotNull();   // the tree keeps the last price: the reader does not guess

        FeatureContract overlapping = FeatureContract.parse(new JsonObject("""
                {"version":"o-1","api":"rank","input":"features","output":"score","fields":[
                  {"name":"a","path":"candidate.features.a","type":"numeric"},
                  {"name":"ab","path":"candidate.features.a.b","type":"numeric"}]}"""));
        String body = """
                {"user_id":"u","candidates":[{"item_id":"i","features":{"a":1}}]}""";
        assertThat(new RankBodyReader(MAX_CANDIDATES).read(Buffer.buffer(body), overlapping)).isNull();
    }

    /** A finite number past FP32's range would reach the model as Infinity: the reader leaves it to the tree path's 400. */
    @Test
    void aNumberOutOfFp32RangeIsLeftToTheTreePathWhichNamesTheField() {
        String body = """
                {"user_id":"u","candidates":[{"item_id":"i","features":{"price":1,"category":"a"}},
                                             {"item_id":"j","features":{"price":1,"category":"a","age":1e39}}]}""";
        assertThat(new RankBodyReader(MAX_CANDIDATES).read(Buffer.buffer(body), CONTRACT)).isNull();
        JsonObject tree = new JsonObject(body);
        NativeApi.validateRank(tree, MAX_CANDIDATES);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> CONTRACT.encode(tree))
                .isInstanceOf(io.weir.runtime.WeirException.class).hasMessage("candidates[1].features.age is out of FP32 range")
                .extracting(e -> HttpErrors.classify(e).code().httpStatus()).isEqualTo(400);
    }

    /** Fields at the API's own keys: the reader validates those keys and must still give the contract what the tree does. */
    @Test
    void contractFieldsAtTheApisOwnKeysAreEncodedOrRefusedAsTheTreeDoes() {
        FeatureContract atApiKeys = FeatureContract.parse(new JsonObject("""
                {"version":"k-1","api":"rank","input":"features","output":"score","fields":[
                  {"name":"ctx","path":"request.context","type":"categorical","buckets":4},
                  {"name":"version","path":"request.model_version","type":"categorical","buckets":4},
                  {"name":"timeout","path":"request.timeout_ms","type":"numeric"},
                  {"name":"item","path":"candidate.item_id","type":"categorical","buckets":8},
                  {"name":"price","path":"candidate.features.price","type":"numeric"}]}"""));
        RankBodyReader reader = new RankBodyReader(MAX_CANDIDATES);
        String objectContext = """
                {"user_id":"u","context":{"ts":"2026-11-26T10:15:00Z"},"candidates":[{"item_id":"i","features":{"price":1}}]}""";
        assertThat(reader.read(Buffer.buffer(objectContext), atApiKeys)).isNull();
        assertThatTreeRefuses(objectContext, atApiKeys);
        String scalars = """
                {"user_id":"u","context":null,"model_version":"1.1.0","timeout_ms":250,
                 "candidates":[{"item_id":"i-1","features":{"price":1}},{"features":{"price":2.5},"item_id":"i-2"}]}""";
        RankBodyReader.RankBody read = reader.read(Buffer.buffer(scalars), atApiKeys);
        assertThat(read).isNotNull();
        JsonObject tree = new JsonObject(scalars);
        assertThat(bits(read.features().floats())).containsExactly(bits(atApiKeys.encode(tree).floats()));
        assertThat(read.modelVersion()).isEqualTo("1.1.0");
        assertThat(read.timeout()).isEqualTo(250);
    }

    private static void assertThatTreeRefuses(String body, FeatureContract contract) {
        JsonObject tree = new JsonObject(body);
        NativeApi.validateRank(tree, MAX_CANDIDATES);   // the API's own checks pass: the contract is what refuses
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> contract.encode(tree))
                .isInstanceOf(io.weir.runtime.WeirException.class).hasMessageContaining("context");
    }

    /**
     * The reader parses a numeric field's number with Jackson's fast parser, the tree with {@code Double.parseDouble}:
     * both are correctly rounded, so they must agree on every JSON number, including long mantissas, halfway cases and
     * the ends of the range (subnormals, overflow to infinity, underflow to zero).
     */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3})
    void theFastNumberParserAgreesWithDoubleParseDouble(long seed) {
        Random random = new Random(seed);
        for (int i = 0; i < 100_000; i++) {
            StringBuilder b = new StringBuilder();
            if (random.nextBoolean()) {
                b.append('-');
            }
            int intDigits = 1 + random.nextInt(random.nextInt(4) == 0 ? 25 : 4);
            b.append(1 + random.nextInt(9));
            for (int k = 1; k < intDigits; k++) {
                b.append(random.nextInt(10));
            }
            if (random.nextBoolean()) {
                b.append('.');
                int fraction = 1 + random.nextInt(random.nextInt(4) == 0 ? 30 : 8);
                for (int k = 0; k < fraction; k++) {
                    b.append(random.nextInt(10));
                }
            }
            if (random.nextInt(3) == 0) {
                b.append(random.nextBoolean() ? 'e' : 'E').append(random.nextInt(3) == 0 ? "-" : random.nextBoolean() ? "+" : "")
                        .append(random.nextInt(random.nextInt(8) == 0 ? 340 : 20));
            }
            String text = i % 7 == 0 ? Double.toString(Double.longBitsToDouble(random.nextLong())) : b.toString();
            if (text.contains("N") || text.contains("I")) {
                continue;   // NaN and Infinity are not JSON numbers
            }
            char[] chars = ("[" + text + "]").toCharArray();
            double fast = com.fasterxml.jackson.core.io.NumberInput.parseDouble(chars, 1, text.length(), true);
            assertThat(Double.doubleToRawLongBits(fast)).as(text).isEqualTo(Double.doubleToRawLongBits(Double.parseDouble(text)));
        }
    }

    // ---- the reference: the tree path's validation and encoding --------------------------------------------------

    private record Tree(String[] itemIds, float[] rows, long[] shape, Object userId, Object requestId,
                        Object modelVersion, Object timeout) {
    }

    /** What the tree path makes of the body, or null when it refuses it. */
    private static Tree tree(String text) {
        try {
            Object parsed = Buffer.buffer(text).toJsonValue();
            if (!(parsed instanceof JsonObject body)) {
                return null;
            }
            String[] itemIds = NativeApi.validateRank(body, MAX_CANDIDATES);
            Tensor t = CONTRACT.encode(body);
            return new Tree(itemIds, t.floats(), t.shape(), body.getValue("user_id"), body.getValue("request_id"),
                    body.getValue("model_version"), body.getValue("timeout_ms"));
        } catch (RuntimeException refused) {
            return null;
        }
    }

    private static void assertSameAsTree(RankBodyReader.RankBody read, String body) {
        Tree tree = tree(body);
        assertThat(tree).as("the tree path refuses what the reader read: %s", body).isNotNull();
        assertThat(read.itemIds()).containsExactly(tree.itemIds());
        assertThat(read.features().shape()).containsExactly(tree.shape());
        assertThat(bits(read.features().floats())).as("rows of %s", body).containsExactly(bits(tree.rows()));
        assertThat(read.userId()).isEqualTo(tree.userId());
        assertThat(read.requestId()).isEqualTo(tree.requestId());
        assertThat(read.modelVersion()).isEqualTo(tree.modelVersion());
        assertThat(read.timeout()).isEqualTo(tree.timeout());
        assertThat(read.contract()).isSameAs(CONTRACT);
    }

    private static int[] bits(float[] f) {
        int[] b = new int[f.length];
        for (int i = 0; i < f.length; i++) {
            b[i] = Float.floatToRawIntBits(f[i]);
        }
        return b;
    }

    // ---- random bodies, written by hand so that key order, duplicates and number forms are ours ------------------

    /** A JSON object as an ordered list of entries (duplicates allowed). */
    private static final class Obj {
        final List<Map.Entry<String, Object>> entries = new ArrayList<>();

        Obj put(String k, Object v) {
            entries.add(Map.entry(k, v == null ? NULL : v));
            return this;
        }

        Object get(String k) {
            return entries.stream().filter(e -> e.getKey().equals(k)).map(Map.Entry::getValue).findFirst().orElse(null);
        }

        void remove(String k) {
            entries.removeIf(e -> e.getKey().equals(k));
        }

        void set(String k, Object v) {
            remove(k);
            put(k, v);
        }
    }

    /** A number (or any literal) written exactly as given. */
    private record Raw(String text) {
    }

    private static final Raw NULL = new Raw("null");

    private static final String[] TEXT = {"a", "B", "z", " ", "é", "Ä", "日", "\uD83D\uDE00", "\"", "\\", "\n", "/", "İ", "7"};

    private static String text(Random r, int maxLength) {
        StringBuilder b = new StringBuilder();
        int n = r.nextInt(maxLength + 1);
        for (int i = 0; i < n; i++) {
            b.append(TEXT[r.nextInt(TEXT.length)]);
        }
        return b.toString();
    }

    private static Raw number(Random r, double min) {
        return switch (r.nextInt(6)) {
            case 0 -> new Raw(Integer.toString(Math.max((int) Math.ceil(min + 1), r.nextInt(1000))));
            case 1 -> new Raw(Double.toString(Math.max(min + 0.5, r.nextDouble() * 500)));
            case 2 -> new Raw(r.nextInt(900) + 1 + "e" + (r.nextInt(5) - 2));
            case 3 -> new Raw("1234567890123456789012345");
            case 4 -> new Raw(Long.toString(3_000_000_000L + r.nextInt(1000)));
            default -> new Raw(String.format(java.util.Locale.ROOT, "%.17f", r.nextDouble() * 3));
        };
    }

    private static Obj validBody(Random r) {
        Obj body = new Obj().put("user_id", "u-" + text(r, 6) + r.nextInt(1000));
        if (r.nextInt(5) > 0) {
            Obj context = new Obj();
            if (r.nextBoolean()) {
                context.put("locale", r.nextInt(4) == 0 ? null : "en-" + text(r, 3));
            }
            if (r.nextInt(4) > 0) {
                String[] ts = {"2026-11-26T10:15:00Z", "2026-11-26T23:59:59+05:30", "2026-01-01T00:00:00.123-08:00"};
                context.put("ts", r.nextInt(6) == 0 ? null : ts[r.nextInt(ts.length)]);
            }
            if (r.nextBoolean()) {
                context.put("query", text(r, 30));
            }
            if (r.nextInt(3) == 0) {
                context.put("extra", new Obj().put("deep", List.of(new Raw("1"), new Obj().put("query", new Raw("5")))));
            }
            shuffle(context, r);
            body.put("context", r.nextInt(8) == 0 ? null : context);
        }
        List<Object> candidates = new ArrayList<>();
        int n = 1 + r.nextInt(r.nextInt(8) == 0 ? MAX_CANDIDATES : 12);
        for (int i = 0; i < n; i++) {
            Obj features = new Obj().put("price", number(r, -1));
            features.put("category", switch (r.nextInt(5)) {
                case 0 -> number(r, 0);
                case 1 -> new Raw(Boolean.toString(r.nextBoolean()));
                default -> "cat-" + text(r, 4);
            });
            if (r.nextBoolean()) {
                features.put("age", r.nextInt(3) == 0 ? null : number(r, 0));
            }
            if (r.nextBoolean()) {
                features.put("ctr", number(r, 0));
            }
            shuffle(features, r);
            Obj c = new Obj().put("item_id", "i-" + text(r, 5) + i).put("features", features);
            if (r.nextBoolean()) {
                c.put("title", r.nextInt(4) == 0 ? null : text(r, 40));
            }
            if (r.nextInt(4) == 0) {
                c.put("meta", new Obj().put("title", List.of()).put("n", new Raw("-0.0")));
            }
            shuffle(c, r);
            candidates.add(c);
        }
        body.put("candidates", candidates);
        if (r.nextInt(3) == 0) {
            body.put("model_version", r.nextBoolean() ? null : "1." + r.nextInt(9) + ".0");
        }
        if (r.nextInt(3) == 0) {
            body.put("request_id", switch (r.nextInt(3)) {
                case 0 -> new Raw("42");
                case 1 -> null;
                default -> "req-" + text(r, 8);
            });
        }
        if (r.nextInt(4) == 0) {
            body.put("timeout_ms", r.nextBoolean() ? number(r, 0) : "250");
        }
        if (r.nextInt(3) == 0) {
            body.put("geo", switch (r.nextInt(4)) {
                case 0 -> new Obj().put("region", "eu-" + text(r, 2));
                case 1 -> new Obj().put("region", number(r, 0)).put("city", new Obj());
                case 2 -> List.of(new Obj().put("region", "x"));
                default -> "nowhere";
            });
        }
        if (r.nextInt(3) == 0) {
            body.put("debug", new Obj().put("trace", List.of(new Raw("true"), "x", new Obj().put("candidates", List.of()))));
        }
        shuffle(body, r);
        return body;
    }

    private static void shuffle(Obj o, Random r) {
        Collections.shuffle(o.entries, r);
    }

    /** Breaks the body in one of many ways (most of which the tree path refuses); returns the way's name. */
    private static String mutate(Obj body, Random r) {
        @SuppressWarnings("unchecked")
        List<Object> candidates = (List<Object>) body.get("candidates");
        Obj first = (Obj) candidates.get(0);
        Obj features = (Obj) first.get("features");
        int kind = r.nextInt(22);
        switch (kind) {
            case 0 -> body.remove("user_id");
            case 1 -> body.set("user_id", new Raw("17"));
            case 2 -> body.set("user_id", "");
            case 3 -> body.set("context", "not an object");
            case 4 -> body.set("context", new Obj().put("locale", "x".repeat(65)));
            case 5 -> body.set("context", new Obj().put("ts", "yesterday"));
            case 6 -> body.set("candidates", List.of());
            case 7 -> body.set("candidates", new Obj());
            case 8 -> {
                List<Object> many = new ArrayList<>();
                for (int i = 0; i <= MAX_CANDIDATES; i++) {
                    many.add(first);
                }
                body.set("candidates", many);
            }
            case 9 -> candidates.set(0, "not a candidate");
            case 10 -> first.remove("item_id");
            case 11 -> first.set("item_id", "i".repeat(257));
            case 12 -> first.set("features", List.of());
            case 13 -> features.remove("price");
            case 14 -> features.set("price", "cheap");
            case 15 -> features.set("price", new Raw("-1"));
            case 16 -> features.set("category", new Obj());
            case 17 -> first.set("title", new Raw("3"));
            case 18 -> body.set("model_version", new Raw("2"));
            case 19 -> body.put("user_id", "second");              // a duplicate key: the tree keeps the last
            case 20 -> features.put("category", "again");
            default -> {
                return "trailing";
            }
        }
        return "mutation " + kind;
    }

    private static String write(Object value, Random r) {
        StringBuilder b = new StringBuilder();
        write(value, r, b);
        return b.toString();
    }

    private static void write(Object value, Random r, StringBuilder b) {
        if (r.nextInt(40) == 0) {
            b.append(r.nextBoolean() ? " \n " : " /* a comment */ ");
        }
        if (value instanceof Raw raw) {
            b.append(raw.text());
        } else if (value instanceof String s) {
            b.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                switch (c) {
                    case '"' -> b.append("\\\"");
                    case '\\' -> b.append("\\\\");
                    case '\n' -> b.append("\\n");
                    default -> {
                        if (c >= 0x80 && r.nextInt(3) == 0) {
                            b.append(String.format("\\u%04x", (int) c));   // the same character, escaped
                        } else {
                            b.append(c);
                        }
                    }
                }
            }
            b.append('"');
        } else if (value instanceof Obj o) {
            b.append('{');
            for (int i = 0; i < o.entries.size(); i++) {
                if (i > 0) {
                    b.append(',');
                }
                write(o.entries.get(i).getKey(), r, b);
                b.append(':');
                write(o.entries.get(i).getValue(), r, b);
            }
            b.append('}');
        } else if (value instanceof List<?> list) {
            b.append('[');
            for (int i = 0; i < list.size(); i++) {
                if (i > 0) {
                    b.append(',');
                }
                write(list.get(i), r, b);
            }
            b.append(']');
        } else {
            throw new IllegalArgumentException("cannot write " + value);
        }
    }
}
