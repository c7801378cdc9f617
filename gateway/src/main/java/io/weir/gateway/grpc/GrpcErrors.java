package io.weir.gateway.grpc;

import io.vertx.grpc.common.GrpcStatus;
import io.weir.gateway.http.HttpErrors;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;

/**
 * The gRPC face of Weir's one error table: a failure is classified exactly as on HTTP ({@link HttpErrors#classify},
 * which also logs unexpected ones) and its {@link ErrorCode#grpcStatus()} becomes the call's status; the message is
 * the same client-facing text the HTTP body carries.
 */
final class GrpcErrors {
    /** Trailer carrying the seconds to wait before retrying (RESOURCE_EXHAUSTED, UNAVAILABLE), as HTTP's Retry-After. */
    static final String RETRY_AFTER = "retry-after";

    private GrpcErrors() {
    }

    static WeirException classify(Throwable t) {
        return HttpErrors.classify(t);
    }

    static GrpcStatus status(ErrorCode code) {
        return GrpcStatus.valueOf(code.grpcStatus());
    }
}
