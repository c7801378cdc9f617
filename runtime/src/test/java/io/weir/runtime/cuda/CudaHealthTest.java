package io.weir.runtime.cuda;

import io.weir.nativebindings.CudaException;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

class CudaHealthTest {

    private final AtomicLong now = new AtomicLong(1_000);
    private final AtomicBoolean deviceWorks = new AtomicBoolean(true);
    private final AtomicInteger probeRuns = new AtomicInteger();
    private final CudaHealth health = new CudaHealth(now::get, () -> {
        probeRuns.incrementAndGet();
        return deviceWorks.get();
    });

    @Test
    void stickyErrorTakesTheDeviceOutUntilAProbePasses() {
        assertThat(health.admit()).isTrue();
        deviceWorks.set(false);
        assertThat(health.recordError(CudaException.of("cuStreamSynchronize", 700))).isTrue();
        CudaHealth.Snapshot s = health.snapshot();
        assertThat(s.state()).isEqualTo(CudaHealth.State.UNHEALTHY);
        assertThat(s.sticky()).isTrue();
        assertThat(s.reason()).contains("CUDA_ERROR_ILLEGAL_ADDRESS");
        assertThat(health.admit()).isFalse();
        assertThat(probeRuns).hasValue(0); // back-off not elapsed

        now.addAndGet(CudaHealth.MIN_BACKOFF_NANOS);
        assertThat(health.admit()).isFalse(); // probe runs and fails
        assertThat(probeRuns).hasValue(1);
        now.addAndGet(CudaHealth.MIN_BACKOFF_NANOS);
        assertThat(health.admit()).isFalse(); // back-off doubled: not yet
        assertThat(probeRuns).hasValue(1);

        deviceWorks.set(true);
        now.addAndGet(CudaHealth.MIN_BACKOFF_NANOS);
        assertThat(health.admit()).isTrue();
        assertThat(probeRuns).hasValue(2);
        assertThat(health.snapshot().state()).isEqualTo(CudaHealth.State.HEALTHY);
        assertThat(health.snapshot().sticky()).isFalse();
    }

    @Test
    void consecutiveNonStickyErrorsTripButOutOfMemoryDoesNot() {
        for (int i = 0; i < 10; i++) {
            assertThat(health.recordError(CudaException.of("cuMemAlloc_v2", 2))).isFalse();
        }
        assertThat(health.healthy()).isTrue();
        assertThat(health.snapshot().deviceErrors()).isEqualTo(10);
        health.recordError(CudaException.of("cuLaunchKernel", 1));
        health.recordSuccess(1_000);
        health.recordError(CudaException.of("cuLaunchKernel", 1));
        health.recordError(CudaException.of("cuLaunchKernel", 1));
        assertThat(health.healthy()).isTrue();
        assertThat(health.recordError(CudaException.of("cuLaunchKernel", 1))).isTrue();
        assertThat(health.snapshot().state()).isEqualTo(CudaHealth.State.UNHEALTHY);
        assertThat(health.snapshot().sticky()).isFalse();
        assertThat(health.probeNow()).isTrue();
        assertThat(health.healthy()).isTrue();
    }

    @Test
    void latencyEwmaAndInFlight() {
        health.started();
        health.started();
        assertThat(health.snapshot().inFlight()).isEqualTo(2);
        health.finished();
        assertThat(health.inFlight()).isEqualTo(1);
        assertThat(health.snapshot().ewmaLatencyMicros()).isNaN();
        health.recordSuccess(100_000);
        assertThat(health.snapshot().ewmaLatencyMicros()).isEqualTo(100.0);
        health.recordSuccess(200_000);
        assertThat(health.snapshot().ewmaLatencyMicros()).isCloseTo(120.0, org.assertj.core.data.Offset.offset(1e-9));
    }

    @Test
    void aThrowingProbeCountsAsFailed() {
        CudaHealth h = new CudaHealth(now::get, () -> {
            throw new IllegalStateException("boom");
        });
        h.recordError(CudaException.of("cuCtxSynchronize", 719));
        now.addAndGet(CudaHealth.MIN_BACKOFF_NANOS);
        assertThat(h.admit()).isFalse();
        assertThat(h.snapshot().reason()).contains("boom");
    }
}
