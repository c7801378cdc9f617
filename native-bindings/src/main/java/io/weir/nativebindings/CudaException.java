package io.weir.nativebindings;

/**
 * A CUDA driver call returned something other than {@code CUDA_SUCCESS}.
 *
 * <p>Carries the call name, the numeric {@code CUresult}, its name and description (from the driver
 * when it is loaded — {@code cuGetErrorName}/{@code cuGetErrorString} — else from {@link CudaError}),
 * and whether the error is sticky.
 */
public final class CudaException extends GpuException {

    private static final long serialVersionUID = 1L;

    private final String call;
    private final int code;
    private final String errorName;
    private final String errorString;

    public CudaException(String call, int code, String errorName, String errorString) {
        super(call + " failed: " + errorName + " (" + code + "): " + errorString);
        this.call = call;
        this.code = code;
        this.errorName = errorName;
        this.errorString = errorString;
    }

    /** Builds the exception for {@code code}, asking the driver for name and text when it is loaded. */
    public static CudaException of(String call, int code) {
        String[] nameAndText = Driver.describe(code);
        return new CudaException(call, code, nameAndText[0], nameAndText[1]);
    }

    /** The driver function that failed, e.g. {@code cuMemAlloc_v2}. */
    public String call() {
        return call;
    }

    /** The numeric {@code CUresult}. */
    public int code() {
        return code;
    }

    /** e.g. {@code CUDA_ERROR_OUT_OF_MEMORY}. */
    public String errorName() {
        return errorName;
    }

    public String errorString() {
        return errorString;
    }

    /** The table entry for the code, or {@code null} for a code unknown to this build. */
    public CudaError error() {
        return CudaError.fromCode(code);
    }

    @Override
    public boolean sticky() {
        return CudaError.isSticky(code);
    }

    /** Out of device memory or launch resources (the device itself is fine). */
    public boolean resourceExhausted() {
        CudaError e = error();
        return e != null && e.kind() == CudaError.Kind.RESOURCE;
    }
}
