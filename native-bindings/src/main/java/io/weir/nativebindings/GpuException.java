package io.weir.nativebindings;

/**
 * A failed call into a GPU library (CUDA driver, cuBLAS, NVRTC) or a GPU that cannot be used.
 * Callers that only care "did the GPU path fail, and is the device now poisoned?" catch this and
 * look at {@link #sticky()}.
 */
public abstract sealed class GpuException extends RuntimeException
        permits CudaException, CublasException, NvrtcException, GpuUnavailableException {

    private static final long serialVersionUID = 1L;

    GpuException(String message) {
        super(message);
    }

    GpuException(String message, Throwable cause) {
        super(message, cause);
    }

    /** True when the device context is unusable after this failure (see {@link CudaError}). */
    public abstract boolean sticky();
}
