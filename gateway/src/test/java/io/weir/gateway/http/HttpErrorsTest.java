package io.weir.gateway.http;

import io.vertx.core.json.JsonObject;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The error body written straight to bytes is the one the error table's {@code JsonObject} gave, byte for byte:
 * messages that quote a client's input (quotes, backslashes, control characters, non-ASCII) and a missing id included.
 */
class HttpErrorsTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            RESOURCE_EXHAUSTED | the gateway is overloaded (event loop 31 ms behind); retry later | r-1
            INVALID_ARGUMENT   | candidates[3].features.price must be a number, was "cheap"       | 0f1980e0-cc27-4994-abff-3c623dee8ae5
            INVALID_ARGUMENT   | request body is not valid JSON: Unexpected character ('\\\\' (code 92)) | NULL
            NOT_FOUND          | no model 'ränker' (did you mean 'ranker'?)                       | r-é
            DEADLINE_EXCEEDED  | tab\\there, line\\nbreak, bell\\7 and a NUL\\0                | x
            INTERNAL           | internal error                                                   | r-\\"q\\"
            """)
    void theBodyIsTheBytesTheJsonObjectGave(ErrorCode code, String message, String requestId) {
        String unescaped = message.translateEscapes();
        String id = requestId == null ? null : requestId.translateEscapes();
        WeirException e = new WeirException(code, unescaped);
        String before = new JsonObject()
                .put("error", new JsonObject().put("code", code.name()).put("message", unescaped))
                .put("request_id", id).toBuffer().toString();
        assertThat(HttpErrors.body(e, id).toString()).isEqualTo(before);
        assertThat(new JsonObject(HttpErrors.body(e, id)).getJsonObject("error").getString("message")).isEqualTo(unescaped);
    }
}
