package io.weir.gateway;

import io.vertx.core.json.DecodeException;
import io.weir.gateway.http.HttpErrors;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.concurrent.CompletionException;

import static org.assertj.core.api.Assertions.assertThat;

/** The one error table: codes to HTTP and gRPC statuses, and how failures are classified. */
class ErrorTableTest {

    @ParameterizedTest
    @CsvSource({"INVALID_ARGUMENT,400,3", "NOT_FOUND,404,5", "PAYLOAD_TOO_LARGE,413,3", "RESOURCE_EXHAUSTED,429,8",
            "UNAVAILABLE,503,14", "DEADLINE_EXCEEDED,504,4", "INTERNAL,500,13"})
    void everyCodeHasItsStatuses(ErrorCode code, int http, int grpc) {
        assertThat(code.httpStatus()).isEqualTo(http);
        assertThat(code.grpcStatus()).isEqualTo(grpc);
    }

    @Test
    void wrappedTypedFailuresKeepTheirCode() {
        WeirException shed = WeirException.exhausted("queue full", 2);
        assertThat(HttpErrors.classify(new CompletionException(shed))).isSameAs(shed);
        assertThat(shed.retryAfterSeconds()).isEqualTo(2);
        assertThat(WeirException.exhausted("x", 0).retryAfterSeconds()).isEqualTo(1);
    }

    @Test
    void badJsonIsInvalidArgumentAndUnknownFailuresAreInternalWithoutDetail() {
        assertThat(HttpErrors.classify(new DecodeException("Unexpected end-of-input\n at [Source...]")).code()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
        WeirException internal = HttpErrors.classify(new IllegalStateException("secret detail at io.weir.Foo"));
        assertThat(internal.code()).isEqualTo(ErrorCode.INTERNAL);
        assertThat(internal.getMessage()).isEqualTo("internal error");
        assertThat(internal.getStackTrace()).isEmpty();
    }
}
