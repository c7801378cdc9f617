package io.weir.nativebindings;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/** The TensorRT path is an unverified design: without the shim it must report itself unavailable, never fail. */
class TensorRtTest {

    @Test
    void withoutTheShimTensorRtIsUnavailableWithAReason() {
        assumeFalse(Files.exists(Path.of("/usr/include/x86_64-linux-gnu/NvInfer.h")), "TensorRT installed here");
        LibraryStatus s = TensorRt.availability();
        assertThat(s.available()).isFalse();
        assertThat(s.detail()).contains("TensorRT shim not available");
        assertThatThrownBy(() -> TensorRt.buildFromOnnx(new byte[] {1}, false, 1 << 20, 1, 1))
                .isInstanceOf(GpuUnavailableException.class);
    }

    @Test
    void shimSourcesShipWithTheModule() throws Exception {
        Path header = Path.of("src/main/trt/weir_trt.h");
        assertThat(header).exists();
        String h = Files.readString(header);
        for (String fn : new String[] {"weir_trt_version", "weir_trt_build_from_onnx", "weir_trt_engine_destroy",
                "weir_trt_io_count", "weir_trt_io_name", "weir_trt_io_is_input", "weir_trt_context_create",
                "weir_trt_context_destroy", "weir_trt_set_input_batch", "weir_trt_set_tensor_address", "weir_trt_enqueue"}) {
            assertThat(h).as(fn).contains(" " + fn + "(");
            assertThat(Files.readString(Path.of("src/main/trt/weir_trt.cpp"))).as(fn).contains(fn + "(");
        }
    }
}
