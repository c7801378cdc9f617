package io.weir.nativebindings;

/** A GPU facility was asked for where it is not usable: no libcuda, no device, no cuBLAS, ... */
public final class GpuUnavailableException extends GpuException {

    private static final long serialVersionUID = 1L;

    public GpuUnavailableException(String message) {
        super(message);
    }

    public GpuUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    @Override
    public boolean sticky() {
        return false;
    }
}
