package io.weir.runtime.features;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.Tensor;
import io.weir.runtime.WeirException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Locale;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The encoder against a reference written the plain way (every field of every row looked up, hashed over
 * {@code getBytes(UTF_8)}, timestamps parsed per row): the fast path (request fields once per request, hashing without
 * allocation) must give bit-identical rows, because the same encoder produced the models' training data.
 */
class FeatureContractTest {
    private static final JsonObject CONTRACT = new JsonObject("""
            {"version":"t-1","api":"rank","input":"features","output":"score","fields":[
              {"name":"user","path":"request.user_id","type":"categorical","buckets":32},
              {"name":"hour","path":"request.context.ts","type":"hour_of_day"},
              {"name":"price","path":"candidate.features.price","type":"numeric","scale":"log1p","mean":2.8,"std":1.2,"required":true},
              {"name":"query","path":"request.context.query","type":"text_ngrams","buckets":64,"n_min":1,"n_max":3},
              {"name":"category","path":"candidate.features.category","type":"categorical","buckets":16,"required":true},
              {"name":"title","path":"candidate.title","type":"text_ngrams","buckets":97,"n_min":2,"n_max":4},
              {"name":"age","path":"candidate.features.age","type":"numeric","default":3.5}
            ]}""");

    /** Characters that exercise every UTF-8 length, case folding, surrogate pairs and lone surrogates. */
    private static final String[] PIECES = {"a", "B", "z", " ", "é", "Ä", "ß", "日", "本", "\uD83D\uDE00", "\uD800", "\uDFFF", "İ", "-", "7"};

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233})
    void rankRowsEqualThePlainReferenceEncoding(long seed) {
        Random random = new Random(seed);
        FeatureContract contract = FeatureContract.parse(CONTRACT);
        JsonObject request = randomRequest(random, 1 + random.nextInt(60));

        Tensor tensor = contract.encode(request);

        float[] expected = Reference.encode(CONTRACT, request);
        assertThat(tensor.shape()).containsExactly(request.getJsonArray("candidates").size(), contract.width());
        assertThat(tensor.floats()).containsExactly(expected);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {4, 9, 16, 25})
    void moderationRowEqualsThePlainReferenceEncoding(long seed) {
        JsonObject moderation = new JsonObject("""
                {"version":"m-1","api":"moderate","input":"features","output":"score","fields":[
                  {"name":"text","path":"request.text","type":"text_ngrams","buckets":512,"n_min":1,"n_max":3}]}""");
        Random random = new Random(seed);
        JsonObject request = new JsonObject().put("text", randomText(random, 1 + random.nextInt(280)));

        Tensor tensor = FeatureContract.parse(moderation).encode(request);

        assertThat(tensor.floats()).containsExactly(Reference.encode(moderation, request));
    }

    /** Equal contracts encode alike, so a tensor encoded with one may be reused for another version's (NativeApi). */
    @Test
    void contractsParsedFromTheSameDefinitionAreEqualAndAnyParameterTellsThemApart() {
        assertThat(FeatureContract.parse(CONTRACT)).isEqualTo(FeatureContract.parse(CONTRACT.copy()))
                .hasSameHashCodeAs(FeatureContract.parse(CONTRACT.copy()));
        for (String[] change : new String[][] {{"0", "buckets", "33"}, {"2", "mean", "2.9"}, {"2", "path", "candidate.features.cost"},
                {"6", "default", "3.6"}, {"3", "n_max", "4"}, {"1", "name", "hours"}}) {
            JsonObject other = CONTRACT.copy();
            JsonObject field = other.getJsonArray("fields").getJsonObject(Integer.parseInt(change[0]));
            field.put(change[1], change[1].equals("path") || change[1].equals("name") ? change[2] : (Object) Double.valueOf(change[2]));
            if (change[1].equals("buckets") || change[1].equals("n_max")) {
                field.put(change[1], Integer.parseInt(change[2]));
            }
            assertThat(FeatureContract.parse(other)).as(String.join(" ", change)).isNotEqualTo(FeatureContract.parse(CONTRACT));
        }
        assertThat(FeatureContract.parse(CONTRACT.copy().put("version", "t-2"))).isNotEqualTo(FeatureContract.parse(CONTRACT));
    }

    /** Values computed independently (Python: FNV-1a 64 over UTF-8 of field NUL value): the hash must never change. */
    @ParameterizedTest(name = "{0}={1}")
    @CsvSource({"user,u-42,486815,30", "category,garden,494798,6", "title,日本,534557,11", "title,😀x,353309,30"})
    void bucketsAreFnv1a64OfFieldNulValue(String field, String value, int mod1000003, int mod32) {
        assertThat(FeatureContract.bucket(field, value, 1_000_003)).isEqualTo(mod1000003);
        assertThat(FeatureContract.bucket(field, value, 32)).isEqualTo(mod32);
    }

    @Test
    void errorsNameTheCandidateAndTheField() {
        FeatureContract contract = FeatureContract.parse(CONTRACT);
        JsonObject request = randomRequest(new Random(7), 5);
        request.getJsonArray("candidates").getJsonObject(3).getJsonObject("features").put("price", "cheap");
        assertThatThrownBy(() -> contract.encode(request)).isInstanceOf(WeirException.class)
                .hasMessage("candidates[3].features.price must be a number");

        request.getJsonArray("candidates").getJsonObject(3).getJsonObject("features").put("price", 1.0).remove("category");
        assertThatThrownBy(() -> contract.encode(request)).isInstanceOf(WeirException.class)
                .hasMessage("candidates[3].features.category is required");
    }

    /** A finite number too large for FP32 would reach the model as Infinity: refused like NaN and Infinity. */
    @Test
    void aNumberOutOfFp32RangeIsRefusedByItsField() {
        FeatureContract contract = FeatureContract.parse(CONTRACT);
        JsonObject request = randomRequest(new Random(13), 3);
        request.getJsonArray("candidates").getJsonObject(1).getJsonObject("features").put("age", 1e39);
        assertThatThrownBy(() -> contract.encode(request)).isInstanceOf(WeirException.class)
                .hasMessage("candidates[1].features.age is out of FP32 range")
                .extracting(e -> ((WeirException) e).code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);

        request.getJsonArray("candidates").getJsonObject(1).getJsonObject("features").put("age", -1e39);
        assertThatThrownBy(() -> contract.encode(request)).hasMessage("candidates[1].features.age is out of FP32 range");

        // With log1p the largest double is well within range.
        request.getJsonArray("candidates").getJsonObject(1).getJsonObject("features").put("age", 1.0).put("price", Double.MAX_VALUE);
        assertThat(contract.encode(request).floats()).doesNotContain(Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY);
    }

    @Test
    void aCandidateThatIsNotAnObjectIsRefusedByItsIndex() {
        FeatureContract contract = FeatureContract.parse(CONTRACT);
        JsonObject request = randomRequest(new Random(5), 3);
        request.getJsonArray("candidates").set(2, "not an object");
        assertThatThrownBy(() -> contract.encode(request)).isInstanceOf(WeirException.class)
                .hasMessage("candidates[2] must be an object");
    }

    /** Parsed JSON holds plain maps where built JSON holds JsonObjects; both encode alike. */
    @Test
    void aParsedRequestEncodesAsTheSameRequestBuiltInCode() {
        FeatureContract contract = FeatureContract.parse(CONTRACT);
        JsonObject built = randomRequest(new Random(9), 4);
        JsonObject parsed = new JsonObject(built.encode());
        assertThat(contract.encode(parsed).floats()).containsExactly(contract.encode(built).floats());
    }

    @Test
    void aBadRequestFieldIsNamedWithoutACandidateIndex() {
        FeatureContract contract = FeatureContract.parse(CONTRACT);
        JsonObject request = randomRequest(new Random(11), 3);
        request.getJsonObject("context").put("ts", "yesterday");
        assertThatThrownBy(() -> contract.encode(request)).isInstanceOf(WeirException.class)
                .hasMessage("context.ts is not an ISO-8601 timestamp with offset: 'yesterday'");
    }

    private static JsonObject randomRequest(Random random, int candidates) {
        JsonObject context = new JsonObject()
                .put("ts", OffsetDateTime.of(2026, 1 + random.nextInt(12), 1 + random.nextInt(28), random.nextInt(24),
                        random.nextInt(60), random.nextInt(60), 0, ZoneOffset.ofHoursMinutes(random.nextInt(25) - 12, 0)).toString());
        if (random.nextBoolean()) {
            context.put("query", randomText(random, random.nextInt(12)));
        }
        JsonArray cands = new JsonArray();
        for (int i = 0; i < candidates; i++) {
            JsonObject features = new JsonObject().put("price", random.nextDouble() * 300)
                    .put("category", random.nextInt(4) == 0 ? (Object) random.nextInt(50) : randomText(random, 1 + random.nextInt(10)));
            if (random.nextBoolean()) {
                features.put("age", random.nextInt(100));
            }
            JsonObject c = new JsonObject().put("item_id", "i-" + i).put("features", features);
            if (random.nextInt(3) > 0) {
                c.put("title", randomText(random, random.nextInt(20)));
            }
            cands.add(c);
        }
        return new JsonObject().put("user_id", randomText(random, 1 + random.nextInt(12))).put("context", context).put("candidates", cands);
    }

    private static String randomText(Random random, int pieces) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < pieces; i++) {
            b.append(PIECES[random.nextInt(PIECES.length)]);
        }
        return b.toString();
    }

    /** The contract's documented semantics, written the obvious way. */
    private static final class Reference {
        static float[] encode(JsonObject contractJson, JsonObject request) {
            JsonArray fields = contractJson.getJsonArray("fields");
            int width = 0;
            for (int i = 0; i < fields.size(); i++) {
                width += width(fields.getJsonObject(i));
            }
            boolean rank = contractJson.getString("api").equals("rank");
            JsonArray candidates = rank ? request.getJsonArray("candidates") : new JsonArray().add(new JsonObject());
            float[] out = new float[candidates.size() * width];
            for (int r = 0; r < candidates.size(); r++) {
                int pos = r * width;
                for (int i = 0; i < fields.size(); i++) {
                    JsonObject f = fields.getJsonObject(i);
                    String[] path = f.getString("path").split("\\.");
                    Object v = path[0].equals("candidate") ? candidates.getJsonObject(r) : request;
                    for (int p = 1; p < path.length && v != null; p++) {
                        v = v instanceof JsonObject o ? o.getValue(path[p]) : null;
                    }
                    switch (f.getString("type")) {
                        case "numeric" -> {
                            double x = v == null ? f.getDouble("default", 0.0) : ((Number) v).doubleValue();
                            if (f.getString("scale", "none").equals("log1p")) {
                                x = StrictMath.log1p(x);
                            }
                            out[pos] = (float) ((x - f.getDouble("mean", 0.0)) / f.getDouble("std", 1.0));
                        }
                        case "categorical" -> {
                            if (v != null) {
                                out[pos + hash(f.getString("name"), String.valueOf(v), f.getInteger("buckets"))] = 1f;
                            }
                        }
                        case "text_ngrams" -> {
                            if (v != null) {
                                int[] cps = ((String) v).toLowerCase(Locale.ROOT).codePoints().toArray();
                                int buckets = f.getInteger("buckets");
                                double sumSq = 0;
                                for (int n = f.getInteger("n_min"); n <= f.getInteger("n_max"); n++) {
                                    for (int k = 0; k + n <= cps.length; k++) {
                                        int b = hash(f.getString("name"), new String(cps, k, n), buckets);
                                        sumSq += 2 * out[pos + b] + 1;
                                        out[pos + b] += 1f;
                                    }
                                }
                                if (sumSq > 0) {
                                    float inv = (float) (1.0 / Math.sqrt(sumSq));
                                    for (int k = 0; k < buckets; k++) {
                                        out[pos + k] *= inv;
                                    }
                                }
                            }
                        }
                        case "hour_of_day" -> {
                            if (v != null) {
                                OffsetDateTime t = OffsetDateTime.parse((String) v).withOffsetSameInstant(ZoneOffset.UTC);
                                double angle = 2 * Math.PI * (t.getHour() + t.getMinute() / 60.0) / 24.0;
                                out[pos] = (float) StrictMath.sin(angle);
                                out[pos + 1] = (float) StrictMath.cos(angle);
                            }
                        }
                        default -> throw new IllegalStateException(f.getString("type"));
                    }
                    pos += width(f);
                }
            }
            return out;
        }

        static int width(JsonObject f) {
            return switch (f.getString("type")) {
                case "numeric" -> 1;
                case "hour_of_day" -> 2;
                default -> f.getInteger("buckets");
            };
        }

        static int hash(String field, String value, int buckets) {
            long h = 0xcbf29ce484222325L;
            byte[] bytes = (field + "\0" + value).getBytes(StandardCharsets.UTF_8);
            for (byte b : bytes) {
                h = (h ^ (b & 0xff)) * 0x100000001b3L;
            }
            return (int) Long.remainderUnsigned(h, buckets);
        }
    }
}
