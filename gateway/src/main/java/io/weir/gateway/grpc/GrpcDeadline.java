package io.weir.gateway.grpc;

import io.weir.runtime.WeirException;

/**
 * The client's {@code grpc-timeout} header: an ASCII integer of at most 8 digits and a unit (H, M, S, m, u, n), per
 * the gRPC over HTTP/2 spec. Parsed here to full nanosecond precision, because Vert.x rounds it to milliseconds and a
 * sub-millisecond budget must still be honoured as already (or almost) spent.
 */
final class GrpcDeadline {
    static final String HEADER = "grpc-timeout";

    private GrpcDeadline() {
    }

    /**
     * @return the timeout in nanoseconds, or 0 when the header is absent
     * @throws WeirException INVALID_ARGUMENT for a malformed value
     */
    static long parseNanos(String header) {
        if (header == null || header.isEmpty()) {
            return 0;
        }
        int n = header.length();
        if (n < 2 || n > 9) {
            throw WeirException.invalid("malformed grpc-timeout '" + header + "'");
        }
        long value = 0;
        for (int i = 0; i < n - 1; i++) {
            char c = header.charAt(i);
            if (c < '0' || c > '9') {
                throw WeirException.invalid("malformed grpc-timeout '" + header + "'");
            }
            value = value * 10 + (c - '0');
        }
        long unitNanos = switch (header.charAt(n - 1)) {
            case 'H' -> 3_600_000_000_000L;
            case 'M' -> 60_000_000_000L;
            case 'S' -> 1_000_000_000L;
            case 'm' -> 1_000_000L;
            case 'u' -> 1_000L;
            case 'n' -> 1L;
            default -> throw WeirException.invalid("malformed grpc-timeout '" + header + "' (unit must be one of HMSmun)");
        };
        // 8 digits of hours overflow a long in nanoseconds: saturate, such a deadline is "none" in practice.
        return value > Long.MAX_VALUE / unitNanos ? Long.MAX_VALUE : Math.max(1, value * unitNanos);
    }
}
