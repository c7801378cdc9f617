package io.weir.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A joined batch ({@link Tensor#joinRows}) must read, slice and write out exactly as the concatenated array would:
 * the backends copy its parts straight into native memory, and anything that asks for the array gets the same
 * elements in the same order.
 */
class TensorTest {

    private static List<Tensor> floatParts(Random rng, int width) {
        List<Tensor> parts = new ArrayList<>();
        int n = 2 + rng.nextInt(20);
        for (int p = 0; p < n; p++) {
            int rows = 1 + rng.nextInt(5);
            float[] data = new float[rows * width];
            for (int i = 0; i < data.length; i++) {
                data[i] = rng.nextFloat() * 2 - 1;
            }
            parts.add(Tensor.ofFloats(new long[] {rows, width}, data));
        }
        return parts;
    }

    private static float[] concatenatedByHand(List<Tensor> parts) {
        int total = parts.stream().mapToInt(Tensor::length).sum();
        float[] out = new float[total];
        int at = 0;
        for (Tensor t : parts) {
            for (float f : t.floats()) {
                out[at++] = f;
            }
        }
        return out;
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5})
    void aJoinedBatchWritesAndReadsAsTheConcatenatedArray(long seed) {
        Random rng = new Random(seed);
        int width = 1 + rng.nextInt(40);
        List<Tensor> parts = floatParts(rng, width);
        float[] expected = concatenatedByHand(parts);
        int rows = parts.stream().mapToInt(Tensor::rows).sum();

        Tensor joined = Tensor.joinRows(parts);
        assertThat(joined.shape()).containsExactly(rows, width);
        assertThat(joined.length()).isEqualTo(expected.length);
        assertThat(joined.byteSize()).isEqualTo((long) expected.length * Float.BYTES);

        try (Arena arena = Arena.ofConfined()) {
            // Written at an odd offset into a larger segment, as into a slot of a shared staging buffer.
            MemorySegment dst = arena.allocate(joined.byteSize() + 16);
            dst.fill((byte) 0x5a);
            long end = joined.copyTo(dst, 4);
            assertThat(end).isEqualTo(4 + joined.byteSize());
            float[] written = dst.asSlice(4, joined.byteSize()).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
            assertThat(written).isEqualTo(expected);
            assertThat(dst.get(ValueLayout.JAVA_INT_UNALIGNED, end)).isEqualTo(0x5a5a5a5a);   // nothing past the end
        }

        assertThat(joined.floats()).isEqualTo(expected);
        assertThat(joined.floats()).isSameAs(joined.floats());   // concatenated once, then kept
        assertThat(Tensor.concatRows(parts).floats()).isEqualTo(expected);

        int from = rng.nextInt(rows);
        int to = from + rng.nextInt(rows - from + 1);
        float[] slice = new float[(to - from) * width];
        System.arraycopy(expected, from * width, slice, 0, slice.length);
        assertThat(Tensor.joinRows(parts).sliceRows(from, to).floats()).isEqualTo(slice);
    }

    @Test
    void joinsOfJoinsAndLongsWriteInOrder() {
        Tensor a = Tensor.ofLongs(new long[] {1, 2}, new long[] {1, 2});
        Tensor b = Tensor.ofLongs(new long[] {2, 2}, new long[] {3, 4, 5, 6});
        Tensor c = Tensor.ofLongs(new long[] {1, 2}, new long[] {7, Long.MIN_VALUE});
        Tensor nested = Tensor.joinRows(List.of(Tensor.joinRows(List.of(a, b)), c));
        assertThat(nested.shape()).containsExactly(4, 2);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(nested.byteSize());
            nested.copyTo(dst, 0);
            assertThat(dst.toArray(ValueLayout.JAVA_LONG)).containsExactly(1, 2, 3, 4, 5, 6, 7, Long.MIN_VALUE);
        }
        assertThat(nested.longs()).containsExactly(1, 2, 3, 4, 5, 6, 7, Long.MIN_VALUE);
    }

    @Test
    void oneTensorJoinsToItselfAndMismatchedPartsAreRefused() {
        Tensor one = Tensor.ofFloats(new long[] {1, 3}, new float[] {1, 2, 3});
        assertThat(Tensor.joinRows(List.of(one))).isSameAs(one);
        assertThatThrownBy(() -> Tensor.joinRows(List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nothing to concatenate");
        Tensor wider = Tensor.ofFloats(new long[] {1, 4}, new float[] {1, 2, 3, 4});
        assertThatThrownBy(() -> Tensor.joinRows(List.of(one, wider)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot concatenate");
        Tensor longs = Tensor.ofLongs(new long[] {1, 3}, new long[] {1, 2, 3});
        assertThatThrownBy(() -> Tensor.joinRows(List.of(one, longs)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("cannot concatenate");
    }

    @Test
    void textHasNoFixedWidthLayoutButJoinsAsAnArray() {
        Tensor a = Tensor.ofBytes(new long[] {1, 1}, new byte[][] {"a".getBytes()});
        Tensor b = Tensor.ofBytes(new long[] {1, 1}, new byte[][] {"bc".getBytes()});
        Tensor joined = Tensor.joinRows(List.of(a, b));
        assertThat(joined.bytes()).isDeepEqualTo(new byte[][] {"a".getBytes(), "bc".getBytes()});
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(16);
            assertThatThrownBy(() -> joined.copyTo(dst, 0)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("BYTES");
        }
    }

    @Test
    void aSegmentTooSmallIsRefusedNotOverrun() {
        Tensor joined = Tensor.joinRows(List.of(
                Tensor.ofFloats(new long[] {1, 2}, new float[] {1, 2}),
                Tensor.ofFloats(new long[] {1, 2}, new float[] {3, 4})));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(joined.byteSize() - 1);
            assertThatThrownBy(() -> joined.copyTo(dst, 0)).isInstanceOf(IndexOutOfBoundsException.class);
        }
    }

    @Test
    void aShapeWhoseElementCountOverflowsIsRefusedNotTakenForAnEmptyOne() {
        assertThatThrownBy(() -> Tensor.ofFloats(new long[] {1L << 54, 1024}, new float[0]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more elements");
        assertThatThrownBy(() -> new TensorSpec("x", DataType.FP32, new long[] {-1, 1L << 20, 1L << 20}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more elements than an array holds");
        assertThat(new TensorSpec("x", DataType.FP32, new long[] {-1, 1 << 15, 1 << 15}).rowWidth()).isEqualTo(1 << 30);
    }
}
