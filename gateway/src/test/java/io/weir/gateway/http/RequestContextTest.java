package io.weir.gateway.http;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/** The token scan that finds a shed request's id agrees with what a full parse would echo. */
class RequestContextTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            {"user_id":"u","candidates":[{"item_id":"a","request_id":"nested"}],"request_id":"r-1"} | r-1
            {"request_id":"first","candidates":[]}                                                  | first
            {"context":{"request_id":"nested"},"text":"x"}                                          | NULL
            {"request_id":42}                                                                       | NULL
            {"request_id":"   "}                                                                    | NULL
            {"request_id":{"id":"x"},"text":"y"}                                                    | NULL
            ["request_id","r"]                                                                      | NULL
            {"text":"unterminated                                                                   | NULL
            not json at all                                                                         | NULL
            {"text":"a \\"quoted\\" \\u00e9","request_id":"r-\\u0041"}                              | r-A
            {"request_id":"r-\\u00e9"}                                                              | NULL
            {"request_id":"a\\nb"}                                                                  | NULL
            """)
    void findsTheTopLevelStringRequestIdOnly(String body, String expected) {
        assertThat(RequestContext.scanRequestId(Buffer.buffer(body.strip()))).isEqualTo(expected);
    }
}
