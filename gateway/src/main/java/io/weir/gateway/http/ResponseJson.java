package io.weir.gateway.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.vertx.core.buffer.Buffer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * Writes an inference answer straight to JSON bytes. A ranker answer has one object per candidate: built as
 * {@code JsonObject}s (a map each) and then encoded, it cost the event loop a tenth of the request's CPU.
 *
 * <p>Scores go through {@link JsonGenerator#writeNumber(float)}: the shortest decimal that reads back as the same
 * FP32 value (1.68, not 1.6799999475479126), which is what FP32 clients need and what a reader expects to see.
 */
final class ResponseJson {
    private static final JsonFactory JSON = new JsonFactory();

    /** The fields of one JSON object, written into the open object. */
    interface Fields {
        void write(JsonGenerator g) throws IOException;
    }

    private ResponseJson() {
    }

    static Buffer object(Fields fields) {
        return object(512, fields);
    }

    /** @param expectedBytes the answer's likely size: a stream sized right is not copied as it grows */
    static Buffer object(int expectedBytes, Fields fields) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(expectedBytes);
        try (JsonGenerator g = JSON.createGenerator(bytes)) {
            g.writeStartObject();
            fields.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing a JSON answer to memory failed", e);
        }
        return Buffer.buffer(bytes.toByteArray());
    }
}
