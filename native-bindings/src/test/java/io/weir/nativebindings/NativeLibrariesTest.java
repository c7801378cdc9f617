package io.weir.nativebindings;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class NativeLibrariesTest {

    @Test
    void overrideIsHonouredAndReportedWhenBroken() {
        String prop = "weir.test.lib." + System.nanoTime();
        System.setProperty(prop, "/nonexistent/libweir-test.so");
        try {
            assertThatThrownBy(() -> NativeLibraries.locate("test lib", prop, "WEIR_TEST_LIB_UNSET", List.of("libc.so.6")))
                    .isInstanceOf(GpuUnavailableException.class)
                    .hasMessageContaining(prop)
                    .hasMessageContaining("/nonexistent/libweir-test.so");
            System.setProperty(prop, "libc.so.6");
            NativeLibraries.Located l = NativeLibraries.locate("test lib", prop, "WEIR_TEST_LIB_UNSET", List.of("libnothing.so"));
            assertThat(l.loadedFrom()).isEqualTo("libc.so.6");
            assertThat(l.lookup().find("strlen")).isPresent();
        } finally {
            System.clearProperty(prop);
        }
    }

    @Test
    void sonamesAreTriedInOrderThroughTheLoader() {
        NativeLibraries.Located l = NativeLibraries.locate("test lib", "weir.test.unset", "WEIR_TEST_LIB_UNSET",
                List.of("libweir-absent.so.1", "libc.so.6"));
        assertThat(l.loadedFrom()).isEqualTo("libc.so.6");
    }

    @Test
    void failureListsEverythingTried() {
        assertThatThrownBy(() -> NativeLibraries.locate("test lib", "weir.test.unset", "WEIR_TEST_LIB_UNSET",
                List.of("libweir-absent.so.1")))
                .isInstanceOf(GpuUnavailableException.class)
                .hasMessageContaining("libweir-absent.so.1")
                .hasMessageContaining("/usr/local/cuda-13.0/targets/x86_64-linux/lib/libweir-absent.so.1");
    }

    @Test
    void toolkitDirectoriesIncludeTheCuda13Layout() {
        assertThat(NativeLibraries.toolkitDirectories()).extracting(Object::toString)
                .contains("/usr/local/cuda/lib64", "/usr/local/cuda-13.0/targets/x86_64-linux/lib");
    }
}
