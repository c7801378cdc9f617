package io.weir.gateway.http;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class ResponseJsonTest {

    /** Streaming the answer must give the bytes the JsonObject path gave: the same FP32-shortest decimals. */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 7, 42, 1234})
    void scoresReadBackAsTheShortestFp32DecimalsTheJsonObjectPathWrote(long seed) {
        Random random = new Random(seed);
        float[] scores = new float[200];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = switch (i % 5) {
                case 0 -> random.nextFloat();
                case 1 -> Float.intBitsToFloat(random.nextInt()) % 1e6f;
                case 2 -> (float) (random.nextGaussian() * 1e-7);
                case 3 -> -random.nextFloat() * 1e9f;
                default -> Float.MIN_VALUE * random.nextInt(1000);
            };
        }
        scores[0] = -0.0f;

        String written = ResponseJson.object(g -> {
            g.writeArrayFieldStart("scores");
            for (float s : scores) {
                g.writeNumber(s);
            }
            g.writeEndArray();
            g.writeStringField("request_id", "r-\"1\"\n");
        }).toString();

        JsonArray expected = new JsonArray();
        for (float s : scores) {
            expected.add(Bodies.fp32(s));
        }
        assertThat(written).isEqualTo(new JsonObject().put("scores", expected).put("request_id", "r-\"1\"\n").encode());
    }

    /** The float writer must write exactly what the generator's writeNumber(float) writes, for every kind of float. */
    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {3, 11, 2026})
    void theFloatWriterWritesTheGeneratorsOwnDigits(long seed) {
        Random random = new Random(seed);
        float[] values = new float[4000];
        for (int i = 0; i < values.length; i++) {
            values[i] = switch (i % 4) {
                case 0 -> random.nextFloat();
                case 1 -> Float.intBitsToFloat(random.nextInt());   // every exponent, subnormals, NaNs
                case 2 -> (float) random.nextInt(1_000_000) * (random.nextBoolean() ? 1e-3f : 1e4f);
                default -> -random.nextFloat() * Float.MAX_VALUE;
            };
        }
        float[] edges = {0f, -0f, Float.MIN_VALUE, Float.MIN_NORMAL, Float.MAX_VALUE, -Float.MAX_VALUE, 1f, 1e7f, 1e-3f,
                0.1f, Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        System.arraycopy(edges, 0, values, 0, edges.length);
        ResponseJson.FloatWriter writer = new ResponseJson.FloatWriter();

        String byGenerator = ResponseJson.object(g -> {
            g.writeArrayFieldStart("v");
            for (float v : values) {
                g.writeNumber(v);
            }
            g.writeEndArray();
        }).toString();
        String byWriter = ResponseJson.object(g -> {
            g.writeArrayFieldStart("v");
            for (float v : values) {
                writer.write(g, v);
            }
            g.writeEndArray();
        }).toString();

        assertThat(byWriter).isEqualTo(byGenerator);
    }

    /** Past the generator's own 8000-byte buffer the answer arrives in several writes; none may be lost or reordered. */
    @Test
    void anAnswerLargerThanTheGeneratorsBufferArrivesWhole() {
        Random random = new Random(99);
        JsonArray expected = new JsonArray();
        com.fasterxml.jackson.core.JsonGenerator[] seen = new com.fasterxml.jackson.core.JsonGenerator[1];
        float[] scores = new float[6000];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = random.nextFloat();
            expected.add(new JsonObject().put("item_id", "i-" + i).put("score", Bodies.fp32(scores[i])));
        }
        io.vertx.core.buffer.Buffer written = ResponseJson.object(g -> {
            seen[0] = g;
            g.writeArrayFieldStart("scores");
            for (int i = 0; i < scores.length; i++) {
                g.writeStartObject();
                g.writeStringField("item_id", "i-" + i);
                g.writeFieldName("score");
                g.writeNumber(scores[i]);
                g.writeEndObject();
            }
            g.writeEndArray();
        });
        String json = new JsonObject().put("scores", expected).encode();
        assertThat(json.length()).isGreaterThan(100_000);
        assertThat(written.toString()).isEqualTo(json);
        assertThat(written.length()).isEqualTo(json.length());
        assertThat(seen[0].isClosed()).isTrue();
    }

    @Test
    void anAnswerIsOneJsonObjectWithTheFieldsInOrder() {
        String written = ResponseJson.object(g -> {
            g.writeStringField("served_model_version", "1.0.0");
            g.writeNumberField("latency_ms", 1.25);
        }).toString();
        assertThat(written).isEqualTo("{\"served_model_version\":\"1.0.0\",\"latency_ms\":1.25}");
    }
}
