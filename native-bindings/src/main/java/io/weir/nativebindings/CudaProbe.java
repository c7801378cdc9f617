package io.weir.nativebindings;

import java.util.List;

/**
 * Result of {@link Cuda#probe()}: whether a CUDA device is usable here and, if not, why.
 *
 * @param available     true when the driver loaded, {@code cuInit} succeeded and at least one device exists
 * @param reason        {@link Reason#AVAILABLE} or the first obstacle met
 * @param detail        human-readable explanation (error names, paths tried, device list)
 * @param driverVersion {@code cuDriverGetVersion} (e.g. 13000), or 0 when unknown
 * @param devices       name of every visible device, by ordinal (empty when unavailable)
 */
public record CudaProbe(boolean available, Reason reason, String detail, int driverVersion, List<String> devices) {

    /** Why the GPU is (not) usable. */
    public enum Reason {
        AVAILABLE,
        /** Switched off by configuration ({@code weir.cuda.disabled=true} / {@code WEIR_CUDA_DISABLED=1}). */
        DISABLED,
        /** {@code libcuda.so.1} is not on this machine (no NVIDIA driver) or not on the loader path. */
        NO_DRIVER_LIBRARY,
        /** The library loaded but the generated bindings could not link against it. */
        BINDINGS_FAILED,
        /** {@code cuInit} returned an error (driver/kernel-module mismatch, no permissions, ...). */
        INIT_FAILED,
        /** The driver works but reports no device. */
        NO_DEVICES
    }

    public CudaProbe {
        devices = List.copyOf(devices);
    }

    static CudaProbe unavailable(Reason reason, String detail, int driverVersion) {
        return new CudaProbe(false, reason, detail, driverVersion, List.of());
    }

    public int deviceCount() {
        return devices.size();
    }

    @Override
    public String toString() {
        return available
                ? "CUDA available: driver " + versionString(driverVersion) + ", devices " + devices
                : "CUDA unavailable (" + reason + "): " + detail;
    }

    /** 13000 -> "13.0". */
    public static String versionString(int version) {
        return version <= 0 ? "unknown" : (version / 1000) + "." + (version % 1000) / 10;
    }
}
