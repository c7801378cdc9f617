package io.weir.nativebindings;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Needs a real CUDA GPU: every test is skipped (assumption) unless {@link Cuda#probe()} reports one.
 * On a GPU machine it runs the full {@link GpuSelfTest} plus lifetime checks.
 */
class GpuIntegrationTest {

    @BeforeEach
    void requireGpu() {
        CudaProbe p = Cuda.probe();
        assumeTrue(p.available(), () -> "no GPU: " + p);
    }

    @Test
    void selfTestPasses() {
        try (CudaContext ctx = CudaContext.openDefault(); WeirKernels k = WeirKernels.load(ctx)) {
            List<GpuSelfTest.Check> checks = GpuSelfTest.run(ctx, k, true, Nvrtc.availability().available(),
                    CublasLt.availability().available());
            checks.forEach(System.out::println);
            assertThat(checks).allSatisfy(c -> assertThat(c.passed()).as(c.toString()).isTrue());
        }
    }

    @Test
    void contextReportsDeviceFacts() {
        try (CudaContext ctx = CudaContext.open(0)) {
            assertThat(ctx.name()).isNotBlank();
            assertThat(ctx.totalMemory()).isPositive();
            assertThat(ctx.computeCapabilityMajor()).isGreaterThanOrEqualTo(7);
            assertThat(ctx.multiprocessorCount()).isPositive();
            CudaContext.MemoryInfo mi = ctx.memoryInfo();
            assertThat(mi.freeBytes()).isPositive().isLessThanOrEqualTo(mi.totalBytes());
        }
    }

    @Test
    void closingTheContextClosesItsChildrenAndUseAfterCloseFailsCleanly() {
        CudaContext ctx = CudaContext.open(0);
        DeviceBuffer buf = ctx.allocate(1024);
        PinnedHostBuffer pin = ctx.allocatePinned(1024);
        CudaStream stream = ctx.createStream();
        ctx.close();
        assertThat(buf.isOpen()).isFalse();
        assertThat(pin.isOpen()).isFalse();
        assertThatThrownBy(buf::address).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> pin.segment().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(stream::synchronize).isInstanceOf(IllegalStateException.class);
        ctx.close(); // idempotent
    }

    @Test
    void driverErrorsBecomeTypedExceptions() {
        try (CudaContext ctx = CudaContext.open(0)) {
            long tooMuch = ctx.totalMemory() * 4;
            assertThatThrownBy(() -> ctx.allocate(tooMuch))
                    .isInstanceOfSatisfying(CudaException.class, e -> {
                        assertThat(e.call()).isEqualTo("cuMemAlloc_v2");
                        assertThat(e.error()).isEqualTo(CudaError.OUT_OF_MEMORY);
                        assertThat(e.sticky()).isFalse();
                    });
            assertThatThrownBy(() -> ctx.loadModule("this is not PTX".getBytes(java.nio.charset.StandardCharsets.US_ASCII)))
                    .isInstanceOf(CudaException.class);
            ctx.synchronize(); // the context survived both errors
        }
    }
}
