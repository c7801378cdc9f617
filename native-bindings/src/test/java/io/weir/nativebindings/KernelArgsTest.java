package io.weir.nativebindings;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static io.weir.nativebindings.CudaFunction.ArgType.F32;
import static io.weir.nativebindings.CudaFunction.ArgType.I32;
import static io.weir.nativebindings.CudaFunction.ArgType.I64;
import static io.weir.nativebindings.CudaFunction.ArgType.POINTER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The kernelParams block layout and type checks (no GPU needed: nothing is launched). */
class KernelArgsTest {

    private static CudaFunction fn(CudaFunction.ArgType... sig) {
        return new CudaFunction(null, "k", MemorySegment.NULL, sig);
    }

    @Test
    void pointerArrayPointsAtValueSlotsHoldingTheValues() {
        try (Arena arena = Arena.ofConfined()) {
            KernelArgs a = fn(POINTER, I32, I64, F32).newArgs(arena);
            a.pointer(0, 0xdead_beef_0000L).i32(1, -7).i64(2, 1L << 40).f32(3, 2.5f);
            a.checkComplete();
            MemorySegment ptrs = a.pointers();
            MemorySegment p0 = ptrs.getAtIndex(ValueLayout.ADDRESS, 0).reinterpret(8);
            MemorySegment p1 = ptrs.getAtIndex(ValueLayout.ADDRESS, 1).reinterpret(8);
            MemorySegment p2 = ptrs.getAtIndex(ValueLayout.ADDRESS, 2).reinterpret(8);
            MemorySegment p3 = ptrs.getAtIndex(ValueLayout.ADDRESS, 3).reinterpret(8);
            assertThat(p0.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(0xdead_beef_0000L);
            assertThat(p1.get(ValueLayout.JAVA_INT, 0)).isEqualTo(-7);
            assertThat(p2.get(ValueLayout.JAVA_LONG, 0)).isEqualTo(1L << 40);
            assertThat(p3.get(ValueLayout.JAVA_FLOAT, 0)).isEqualTo(2.5f);
            assertThat(p1.address() - p0.address()).isEqualTo(8);
        }
    }

    @Test
    void wrongTypeOrIndexIsRejected() {
        try (Arena arena = Arena.ofConfined()) {
            KernelArgs a = fn(POINTER, I32).newArgs(arena);
            assertThatThrownBy(() -> a.i32(0, 1)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("POINTER");
            assertThatThrownBy(() -> a.f32(1, 1f)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> a.i32(2, 1)).isInstanceOf(IndexOutOfBoundsException.class);
            assertThatThrownBy(() -> a.set(1, 1.0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Double");
            a.set(0, null);
            a.set(1, 3);
        }
    }

    @Test
    void launchingWithUnsetParametersIsRejected() {
        try (Arena arena = Arena.ofConfined()) {
            KernelArgs a = fn(POINTER, I32, I64).newArgs(arena);
            a.pointer(0, 0L).i64(2, 5L);
            assertThatThrownBy(a::checkComplete).isInstanceOf(IllegalStateException.class).hasMessageContaining("not set");
            a.i32(1, 1);
            a.checkComplete();
        }
    }

    @Test
    void dimensionsMustBePositive() {
        assertThat(Dim3.of(4, 2)).isEqualTo(new Dim3(4, 2, 1));
        assertThatThrownBy(() -> Dim3.of(0)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void activationCodesMatchTheKernelSourceAndReferenceIsStable() {
        String src = WeirKernels.packagedSource().orElseThrow();
        for (Activation a : Activation.values()) {
            assertThat(src).containsPattern("#define WEIR_ACT_" + a.name() + "\\s+" + a.code() + "\\b");
        }
        assertThat(src).containsPattern("#define WEIR_TOPK_MAX\\s+" + WeirKernels.TOPK_MAX + "\\b");
        assertThat(Activation.SIGMOID.apply(-100f)).isGreaterThanOrEqualTo(0f).isLessThan(1e-30f);
        assertThat(Activation.SIGMOID.apply(0f)).isEqualTo(0.5f);
        assertThat(Activation.RELU.apply(-1f)).isZero();
    }
}
