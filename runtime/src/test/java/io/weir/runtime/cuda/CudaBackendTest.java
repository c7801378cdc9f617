package io.weir.runtime.cuda;

import io.weir.nativebindings.Cuda;
import io.weir.runtime.Backend;
import io.weir.runtime.DataType;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelLoadException;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.onnx.OnnxGraphBuilder;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** Behaviour without a GPU (the CI case): unavailable with a reason, loads refused, nothing thrown. */
class CudaBackendTest {

    @Test
    void withoutAGpuTheBackendIsUnavailableWithAReasonAndRefusesLoads() {
        assumeFalse(Cuda.probe().available(), "a GPU is present: CudaBackendGpuTest covers this machine");
        try (CudaBackend backend = new CudaBackend()) {
            assertThat(backend.name()).isEqualTo("cuda");
            Backend.Availability a = backend.availability();
            assertThat(a.available()).isFalse();
            assertThat(a.reason()).contains("CUDA unavailable");
            assertThat(backend.isAvailable()).isFalse();
            assertThat(backend.health()).isEmpty();
            assertThat(backend.probeNow()).isFalse();

            TensorSpec x = OnnxPlanCompilerTest.spec("x", DataType.FP32, 4);
            ModelConfig cfg = OnnxPlanCompilerTest.config(List.of(x), List.of(OnnxPlanCompilerTest.spec("y", DataType.FP32, 4)));
            byte[] onnx = new OnnxGraphBuilder("g").input(x).output(OnnxPlanCompilerTest.spec("y", DataType.FP32, 4))
                    .relu("x", "y").toBytes();
            ModelKey key = new ModelKey("m", "1.0.0");
            assertThatThrownBy(() -> backend.load(new ModelArtifact(key, cfg, Path.of("."), onnx, "x")))
                    .isInstanceOf(ModelLoadException.class)
                    .hasMessageContaining("CUDA backend unavailable");
        }
    }

    @Test
    void configDefaultsAreSane() {
        CudaBackend.Config c = CudaBackend.Config.fromSystemProperties();
        assertThat(c.workersPerModel()).isPositive();
        assertThat(c.acquireTimeout()).isPositive();
        assertThatThrownBy(() -> new CudaBackend.Config(0, 0, true, false, c.acquireTimeout(), true))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aWorkerGrowsItsBuffersToAPowerOfTwoAndNeverToZeroRows() {
        // After a failed allocation a worker's capacity is 0: the next batch, of one row, must get one row.
        assertThat(CudaWorker.roundUpCapacity(1)).isEqualTo(1);
        assertThat(CudaWorker.roundUpCapacity(2)).isEqualTo(2);
        assertThat(CudaWorker.roundUpCapacity(3)).isEqualTo(4);
        assertThat(CudaWorker.roundUpCapacity(5)).isEqualTo(8);
        assertThat(CudaWorker.roundUpCapacity(257)).isEqualTo(512);
        assertThat(CudaWorker.roundUpCapacity(1 << 30)).isEqualTo(1 << 30);
        assertThatThrownBy(() -> CudaWorker.roundUpCapacity((1 << 30) + 1)).isInstanceOf(IllegalArgumentException.class);
    }
}
