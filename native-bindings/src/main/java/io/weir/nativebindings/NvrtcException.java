package io.weir.nativebindings;

/** An NVRTC call failed; for compilation failures {@link #log()} holds the compiler's log. */
public final class NvrtcException extends GpuException {

    private static final long serialVersionUID = 1L;

    private final String call;
    private final int result;
    private final String log;

    public NvrtcException(String call, int result, String log) {
        super(call + " failed: " + resultName(result) + " (" + result + ")"
                + (log == null || log.isBlank() ? "" : "\n" + log.strip()));
        this.call = call;
        this.result = result;
        this.log = log == null ? "" : log;
    }

    public String call() {
        return call;
    }

    public int result() {
        return result;
    }

    public String log() {
        return log;
    }

    @Override
    public boolean sticky() {
        return false;
    }

    /** Names of {@code nvrtcResult} values (nvrtc.h). */
    public static String resultName(int result) {
        return switch (result) {
            case 0 -> "NVRTC_SUCCESS";
            case 1 -> "NVRTC_ERROR_OUT_OF_MEMORY";
            case 2 -> "NVRTC_ERROR_PROGRAM_CREATION_FAILURE";
            case 3 -> "NVRTC_ERROR_INVALID_INPUT";
            case 4 -> "NVRTC_ERROR_INVALID_PROGRAM";
            case 5 -> "NVRTC_ERROR_INVALID_OPTION";
            case 6 -> "NVRTC_ERROR_COMPILATION";
            case 7 -> "NVRTC_ERROR_BUILTIN_OPERATION_FAILURE";
            case 8 -> "NVRTC_ERROR_NO_NAME_EXPRESSIONS_AFTER_COMPILATION";
            case 9 -> "NVRTC_ERROR_NO_LOWERED_NAMES_BEFORE_COMPILATION";
            case 10 -> "NVRTC_ERROR_NAME_EXPRESSION_NOT_VALID";
            case 11 -> "NVRTC_ERROR_INTERNAL_ERROR";
            default -> "NVRTC_ERROR_" + result;
        };
    }
}
