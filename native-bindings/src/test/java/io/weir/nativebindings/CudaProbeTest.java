package io.weir.nativebindings;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

class CudaProbeTest {

    @Test
    void probeNeverThrowsAndIsConsistent() {
        assertThatCode(Cuda::probe).doesNotThrowAnyException();
        CudaProbe p = Cuda.probe();
        assertThat(p.reason()).isNotNull();
        assertThat(p.detail()).isNotBlank();
        if (p.available()) {
            assertThat(p.reason()).isEqualTo(CudaProbe.Reason.AVAILABLE);
            assertThat(p.deviceCount()).isPositive();
            assertThat(p.driverVersion()).isPositive();
        } else {
            assertThat(p.reason()).isNotEqualTo(CudaProbe.Reason.AVAILABLE);
            assertThat(p.devices()).isEmpty();
            assertThat(p.toString()).contains("CUDA unavailable").contains(p.reason().name());
        }
        assertThat(Cuda.probe()).isSameAs(p);
    }

    @Test
    void missingLibcudaIsReportedWithAReason() {
        assumeFalse(Driver.loadState().loaded(), "libcuda.so.1 is present on this machine");
        CudaProbe p = Cuda.probe();
        assertThat(p.available()).isFalse();
        assertThat(p.reason()).isIn(CudaProbe.Reason.NO_DRIVER_LIBRARY, CudaProbe.Reason.DISABLED);
        if (p.reason() == CudaProbe.Reason.NO_DRIVER_LIBRARY) {
            assertThat(p.detail()).contains("libcuda.so.1");
        }
        assertThatThrownBy(() -> CudaContext.open(0))
                .isInstanceOf(GpuUnavailableException.class)
                .hasMessageContaining("CUDA unavailable");
        assertThatThrownBy(Cuda::requireAvailable).isInstanceOf(GpuUnavailableException.class);
    }

    @Test
    void anAbsentLibraryIsNoDriverLibraryOnAnyMachine() {
        Driver.LoadState s = Driver.tryLoad("libcuda-weir-test-absent.so.1");
        assertThat(s.loaded()).isFalse();
        assertThat(s.failureReason()).isEqualTo(CudaProbe.Reason.NO_DRIVER_LIBRARY);
        assertThat(s.failure()).contains("libcuda-weir-test-absent.so.1");
    }

    @Test
    void disabledByConfigurationWinsOverEverything() {
        String old = System.getProperty("weir.cuda.disabled");
        try {
            System.setProperty("weir.cuda.disabled", "true");
            CudaProbe p = Cuda.reprobe();
            assertThat(p.available()).isFalse();
            assertThat(p.reason()).isEqualTo(CudaProbe.Reason.DISABLED);
        } finally {
            if (old == null) {
                System.clearProperty("weir.cuda.disabled");
            } else {
                System.setProperty("weir.cuda.disabled", old);
            }
            Cuda.reprobe();
        }
    }

    @Test
    void versionStringFormatsDriverVersions() {
        assertThat(CudaProbe.versionString(13000)).isEqualTo("13.0");
        assertThat(CudaProbe.versionString(12080)).isEqualTo("12.8");
        assertThat(CudaProbe.versionString(0)).isEqualTo("unknown");
    }
}
