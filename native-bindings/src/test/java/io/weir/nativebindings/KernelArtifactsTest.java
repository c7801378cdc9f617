package io.weir.nativebindings;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The kernels as they ship: source always, PTX when nvcc was present at build time. */
class KernelArtifactsTest {

    private static Path nvcc() {
        return Path.of(System.getProperty("weir.nvcc", "/usr/local/cuda/bin/nvcc"));
    }

    @Test
    void sourceIsPackagedAndDeclaresEveryEntryPointAsExternC() {
        String src = WeirKernels.packagedSource().orElseThrow();
        Matcher m = Pattern.compile("extern \"C\" __global__ void (\\w+)\\(").matcher(src);
        List<String> declared = new ArrayList<>();
        while (m.find()) {
            declared.add(m.group(1));
        }
        assertThat(declared).containsExactlyInAnyOrderElementsOf(WeirKernels.ENTRY_POINTS);
        // NVRTC compiles this same file and has no system headers.
        assertThat(src).doesNotContainPattern("(?m)^\\s*#\\s*include");
    }

    @Test
    void packagedPtxHasEveryEntryWhenBuiltWithNvcc() {
        boolean expected = Boolean.getBoolean("weir.ptx.expected");
        assumeTrue(expected || WeirKernels.packagedPtx().isPresent(), "built without nvcc: no PTX packaged");
        String ptx = WeirKernels.packagedPtx().orElseThrow(() -> new AssertionError("nvcc profile ran but no PTX in classpath"));
        assertThat(ptx).contains(".target sm_80").contains(".address_size 64");
        for (String entry : WeirKernels.ENTRY_POINTS) {
            assertThat(ptx).as(entry).containsPattern("\\.entry " + entry + "\\(");
        }
    }

    @Test
    void sourceCompilesWithNvccToPtxAndToHopperMachineCode(@TempDir Path tmp) throws Exception {
        Path nvcc = nvcc();
        assumeTrue(Files.isExecutable(nvcc), "nvcc not installed at " + nvcc);
        Path cu = tmp.resolve("weir_kernels.cu");
        Files.writeString(cu, WeirKernels.packagedSource().orElseThrow());
        Path ptx = tmp.resolve("k.ptx");
        run(List.of(nvcc.toString(), "-ptx", "-arch=compute_80", "-o", ptx.toString(), cu.toString()));
        String text = Files.readString(ptx);
        for (String entry : WeirKernels.ENTRY_POINTS) {
            assertThat(text).containsPattern("\\.entry " + entry + "\\(");
        }
        // ptxas for sm_90 (H100/H200): catches what PTX generation alone would let through.
        Path cubin = tmp.resolve("k.cubin");
        String log = run(List.of(nvcc.toString(), "-cubin", "-arch=sm_90", "-Xptxas", "-v", "-Werror", "all-warnings",
                "-o", cubin.toString(), cu.toString()));
        assertThat(Files.size(cubin)).isPositive();
        Matcher spills = Pattern.compile("(\\d+) bytes spill stores").matcher(log);
        int kernels = 0;
        while (spills.find()) {
            kernels++;
            assertThat(Integer.parseInt(spills.group(1))).as("register spills\n%s", log).isZero();
        }
        assertThat(kernels).isEqualTo(WeirKernels.ENTRY_POINTS.size());
    }

    private static String run(List<String> cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        boolean done = p.waitFor(120, TimeUnit.SECONDS);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(done).as("nvcc timed out").isTrue();
        assertThat(p.exitValue()).as("%s\n%s", cmd, out).isZero();
        return out;
    }
}
