package io.weir.gateway.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonObject;
import io.weir.gateway.RequestIds;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The token scan that finds a shed request's id agrees with what a full parse would echo: the same parser features
 * (comments), the last of duplicate keys, the same id rule.
 */
class RequestContextTest {

    @ParameterizedTest
    @CsvSource(delimiter = '|', nullValues = "NULL", textBlock = """
            {"user_id":"u","candidates":[{"item_id":"a","request_id":"nested"}],"request_id":"r-1"} | r-1
            {"request_id":"first","candidates":[],"request_id":"last"}                              | last
            {"request_id":"first","request_id":42}                                                  | NULL
            {"user_id":"u", /* the caller's id */ "request_id":"r-2"}                               | r-2
            /* a comment first */ {"request_id":"r-3"}                                              | r-3
            {"context":{"request_id":"nested"},"text":"x"}                                          | NULL
            {"request_id":42}                                                                       | NULL
            {"request_id":"   "}                                                                    | NULL
            {"request_id":{"id":"x"},"text":"y"}                                                    | NULL
            ["request_id","r"]                                                                      | NULL
            {"text":"unterminated                                                                   | NULL
            {"request_id":"r-4","text":"unterminated                                                | NULL
            {"request_id":"r-5"} {}                                                                 | NULL
            not json at all                                                                         | NULL
            {"text":"a \\"quoted\\" \\u00e9","request_id":"r-\\u0041"}                              | r-A
            {"request_id":"r-\\u00e9"}                                                              | NULL
            {"request_id":"a\\nb"}                                                                  | NULL
            """)
    void findsTheTopLevelStringRequestIdOnly(String body, String expected) {
        Object tree;
        try {
            tree = Buffer.buffer(body.strip()).toJsonValue();
        } catch (DecodeException refused) {
            tree = null;
        }
        String fromTree = tree instanceof JsonObject o && o.getValue("request_id") instanceof String s ? RequestIds.fit(s) : null;
        assertThat(RequestContext.scanRequestId(Buffer.buffer(body.strip()))).isEqualTo(expected).isEqualTo(fromTree);
    }
}
