package io.weir.nativebindings;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class CudaErrorTest {

    @Test
    void codesAreUniqueAndRoundTrip() {
        Set<Integer> seen = new HashSet<>();
        for (CudaError e : CudaError.values()) {
            assertThat(seen.add(e.code())).as("duplicate code %d", e.code()).isTrue();
            assertThat(CudaError.fromCode(e.code())).isSameAs(e);
            assertThat(e.description()).isNotBlank();
        }
        assertThat(CudaError.fromCode(123456)).isNull();
    }

    @Test
    void stickyClassification() {
        for (CudaError e : new CudaError[] {CudaError.ILLEGAL_ADDRESS, CudaError.LAUNCH_FAILED, CudaError.ECC_UNCORRECTABLE,
                CudaError.ILLEGAL_INSTRUCTION, CudaError.MISALIGNED_ADDRESS, CudaError.INVALID_PC, CudaError.HARDWARE_STACK_ERROR,
                CudaError.INVALID_ADDRESS_SPACE, CudaError.ASSERT, CudaError.LAUNCH_TIMEOUT, CudaError.NVLINK_UNCORRECTABLE}) {
            assertThat(e.sticky()).as(e.cName()).isTrue();
            assertThat(CudaError.isSticky(e.code())).isTrue();
        }
        for (CudaError e : new CudaError[] {CudaError.SUCCESS, CudaError.INVALID_VALUE, CudaError.OUT_OF_MEMORY,
                CudaError.NOT_READY, CudaError.INVALID_PTX, CudaError.STREAM_CAPTURE_INVALIDATED, CudaError.NO_DEVICE,
                CudaError.LAUNCH_OUT_OF_RESOURCES}) {
            assertThat(e.sticky()).as(e.cName()).isFalse();
        }
        assertThat(CudaError.OUT_OF_MEMORY.kind()).isEqualTo(CudaError.Kind.RESOURCE);
        assertThat(CudaError.NO_DEVICE.kind()).isEqualTo(CudaError.Kind.UNAVAILABLE);
        assertThat(CudaError.SUCCESS.kind()).isEqualTo(CudaError.Kind.OK);
        assertThat(CudaError.isSticky(987654)).isFalse();
    }

    @Test
    void exceptionCarriesCallCodeNameAndText() {
        CudaException e = CudaException.of("cuMemAlloc_v2", 2);
        assertThat(e.call()).isEqualTo("cuMemAlloc_v2");
        assertThat(e.code()).isEqualTo(2);
        assertThat(e.errorName()).isEqualTo("CUDA_ERROR_OUT_OF_MEMORY");
        assertThat(e.errorString()).isNotBlank();
        assertThat(e.error()).isEqualTo(CudaError.OUT_OF_MEMORY);
        assertThat(e.sticky()).isFalse();
        assertThat(e.resourceExhausted()).isTrue();
        assertThat(e.getMessage()).startsWith("cuMemAlloc_v2 failed: CUDA_ERROR_OUT_OF_MEMORY (2): ");

        CudaException sticky = CudaException.of("cuStreamSynchronize", 700);
        assertThat(sticky.sticky()).isTrue();
        assertThat(sticky.errorName()).isEqualTo("CUDA_ERROR_ILLEGAL_ADDRESS");
        assertThat((GpuException) sticky).isInstanceOf(GpuException.class);

        CudaException unknown = CudaException.of("cuFoo", 4242);
        assertThat(unknown.errorName()).isEqualTo("CUDA_ERROR_4242");
        assertThat(unknown.error()).isNull();
        assertThat(unknown.sticky()).isFalse();
    }

    @Test
    void driverCheckPassesSuccessAndThrowsOtherwise() {
        Driver.check(0, "cuInit");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> Driver.check(719, "cuLaunchKernel"))
                .isInstanceOfSatisfying(CudaException.class, e -> {
                    assertThat(e.sticky()).isTrue();
                    assertThat(e.call()).isEqualTo("cuLaunchKernel");
                    assertThat(e.errorName()).isEqualTo("CUDA_ERROR_LAUNCH_FAILED");
                });
    }

    @Test
    void libraryStatusNamesAreStable() {
        assertThat(CublasException.statusName(13)).isEqualTo("CUBLAS_STATUS_EXECUTION_FAILED");
        assertThat(new CublasException("cublasSgemm_v2", 7).getMessage())
                .isEqualTo("cublasSgemm_v2 failed: CUBLAS_STATUS_INVALID_VALUE (7)");
        assertThat(NvrtcException.resultName(6)).isEqualTo("NVRTC_ERROR_COMPILATION");
        assertThat(new NvrtcException("nvrtcCompileProgram", 6, "x.cu(1): error: oops").getMessage())
                .contains("NVRTC_ERROR_COMPILATION").contains("oops");
    }

    /** The hand-kept table must match the header the bindings were generated from, code for code. */
    @Test
    void tableMatchesCudaHeader() throws IOException {
        Path header = Path.of(System.getProperty("weir.cuda.h", "/usr/local/cuda/include/cuda.h"));
        assumeTrue(Files.isRegularFile(header), "cuda.h not installed at " + header);
        String src = Files.readString(header);
        Matcher block = Pattern.compile("typedef enum cudaError_enum \\{(.*?)} CUresult;", Pattern.DOTALL).matcher(src);
        assertThat(block.find()).isTrue();
        Matcher m = Pattern.compile("(CUDA_(?:SUCCESS|ERROR_\\w+))\\s*=\\s*(\\d+)").matcher(block.group(1));
        Map<String, Integer> fromHeader = new LinkedHashMap<>();
        while (m.find()) {
            fromHeader.put(m.group(1), Integer.parseInt(m.group(2)));
        }
        assertThat(fromHeader).hasSizeGreaterThan(90);
        Map<String, Integer> fromTable = new LinkedHashMap<>();
        for (CudaError e : CudaError.values()) {
            fromTable.put(e.cName(), e.code());
        }
        assertThat(fromTable).containsExactlyInAnyOrderEntriesOf(fromHeader);
    }
}
