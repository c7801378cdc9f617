package io.weir.nativebindings;

/** A cuBLAS call returned a {@code cublasStatus_t} other than {@code CUBLAS_STATUS_SUCCESS}. */
public final class CublasException extends GpuException {

    private static final long serialVersionUID = 1L;

    private final String call;
    private final int status;

    public CublasException(String call, int status) {
        super(call + " failed: " + statusName(status) + " (" + status + ")");
        this.call = call;
        this.status = status;
    }

    public String call() {
        return call;
    }

    public int status() {
        return status;
    }

    public String statusName() {
        return statusName(status);
    }

    /**
     * cuBLAS statuses never poison the context by themselves; an {@code EXECUTION_FAILED} usually
     * hides a sticky driver error, which the next driver call (a synchronize) reports as such.
     */
    @Override
    public boolean sticky() {
        return false;
    }

    /** Names of {@code cublasStatus_t} values (cublas_api.h; stable since CUDA 10). */
    public static String statusName(int status) {
        return switch (status) {
            case 0 -> "CUBLAS_STATUS_SUCCESS";
            case 1 -> "CUBLAS_STATUS_NOT_INITIALIZED";
            case 3 -> "CUBLAS_STATUS_ALLOC_FAILED";
            case 7 -> "CUBLAS_STATUS_INVALID_VALUE";
            case 8 -> "CUBLAS_STATUS_ARCH_MISMATCH";
            case 11 -> "CUBLAS_STATUS_MAPPING_ERROR";
            case 13 -> "CUBLAS_STATUS_EXECUTION_FAILED";
            case 14 -> "CUBLAS_STATUS_INTERNAL_ERROR";
            case 15 -> "CUBLAS_STATUS_NOT_SUPPORTED";
            case 16 -> "CUBLAS_STATUS_LICENSE_ERROR";
            default -> "CUBLAS_STATUS_" + status;
        };
    }
}
