package io.weir.runtime;

/**
 * A typed failure that reaches the client as one row of {@link ErrorCode}. The message is shown to the client, so
 * it says what was wrong with the request or the server's state, never how the code failed.
 */
public class WeirException extends RuntimeException {
    private final ErrorCode code;
    private final long retryAfterSeconds;

    public WeirException(ErrorCode code, String message) {
        this(code, message, 0, null);
    }

    public WeirException(ErrorCode code, String message, long retryAfterSeconds, Throwable cause) {
        super(message, cause, false, false);
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public static WeirException invalid(String message) {
        return new WeirException(ErrorCode.INVALID_ARGUMENT, message);
    }

    public static WeirException notFound(String message) {
        return new WeirException(ErrorCode.NOT_FOUND, message);
    }

    public static WeirException unavailable(String message) {
        return new WeirException(ErrorCode.UNAVAILABLE, message, 1, null);
    }

    public static WeirException exhausted(String message, long retryAfterSeconds) {
        return new WeirException(ErrorCode.RESOURCE_EXHAUSTED, message, Math.max(1, retryAfterSeconds), null);
    }

    public static WeirException deadline(String message) {
        return new WeirException(ErrorCode.DEADLINE_EXCEEDED, message);
    }

    public ErrorCode code() {
        return code;
    }

    /** Seconds a client should wait before retrying (RESOURCE_EXHAUSTED, UNAVAILABLE); 0 when not applicable. */
    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
