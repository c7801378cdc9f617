package io.weir.gateway.http;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.vertx.core.buffer.Buffer;

import java.io.IOException;
import java.io.OutputStream;
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

    /**
     * The answer as a buffer of exactly its bytes. The generator writes into its own recycled buffer (8000 bytes) and
     * hands it on when full and at the end, so an answer under that size arrives in one write and is copied once, at
     * its exact size, into the buffer Vert.x sends; a larger one grows the buffer as it arrives. (Through a
     * {@code ByteArrayOutputStream}, an answer was copied three times: into the stream's array, out by
     * {@code toByteArray}, and again by {@code Buffer.buffer(byte[])}.)
     */
    static Buffer object(Fields fields) {
        BufferSink sink = new BufferSink();
        try (JsonGenerator g = JSON.createGenerator(sink)) {
            g.writeStartObject();
            fields.write(g);
            g.writeEndObject();
        } catch (IOException e) {
            throw new UncheckedIOException("writing a JSON answer to memory failed", e);
        }
        return sink.buffer();
    }

    /**
     * Writes FP32 values as {@link JsonGenerator#writeNumber(float)} does (the digits of {@link Float#toString}),
     * without the String and byte array that call makes per value: a ranker answer has 50 scores, and writing them
     * was the largest allocation left on its path (JFR, docs/PERF.md "Rank requests encoded while they are read").
     * {@code StringBuilder.append(float)} writes the same digits in place. Owned by one thread (an event loop).
     */
    static final class FloatWriter {
        private final StringBuilder digits = new StringBuilder(32);
        private final char[] chars = new char[32];

        void write(JsonGenerator g, float value) throws IOException {
            if (!Float.isFinite(value)) {
                g.writeNumber(value);   // the generator's own rule for NaN and infinities
                return;
            }
            digits.setLength(0);
            digits.append(value);
            int n = digits.length();
            digits.getChars(0, n, chars, 0);
            g.writeNumber(chars, 0, n);
        }
    }

    /** An output stream into a Vert.x buffer made at the size of the first write. Single-threaded, like a generator. */
    private static final class BufferSink extends OutputStream {
        private Buffer buffer;

        @Override
        public void write(int b) {
            target(1).appendByte((byte) b);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            target(len).appendBytes(b, off, len);
        }

        private Buffer target(int firstWrite) {
            if (buffer == null) {
                buffer = Buffer.buffer(firstWrite);
            }
            return buffer;
        }

        Buffer buffer() {
            return buffer == null ? Buffer.buffer(0) : buffer;
        }
    }
}
