package io.weir.runtime;

/**
 * Weir's one error table. Every failure a client can see is one of these; HTTP and gRPC map from here and nowhere
 * else, so a code means the same on every route and protocol.
 */
public enum ErrorCode {
    INVALID_ARGUMENT(400, 3),
    UNAUTHENTICATED(401, 16),
    NOT_FOUND(404, 5),
    PAYLOAD_TOO_LARGE(413, 3),
    RESOURCE_EXHAUSTED(429, 8),
    UNAVAILABLE(503, 14),
    DEADLINE_EXCEEDED(504, 4),
    INTERNAL(500, 13);

    private final int httpStatus;
    private final int grpcStatus;

    ErrorCode(int httpStatus, int grpcStatus) {
        this.httpStatus = httpStatus;
        this.grpcStatus = grpcStatus;
    }

    public int httpStatus() {
        return httpStatus;
    }

    /** The numeric gRPC status code. */
    public int grpcStatus() {
        return grpcStatus;
    }
}
