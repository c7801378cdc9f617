import io.weir.runtime.Tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What staging a batch of one-row requests costs before ONNX Runtime sees it: the batch runner's path,
 * {@link Tensor#joinRows} written part by part into a reused direct buffer ({@link Tensor#copyTo}), against the
 * baseline it replaced, {@link Tensor#concatRows} into a heap array and then put into the same buffer. Checks that
 * both leave the same floats in the buffer. Arguments: row width and rows (59 and 8 for small ranker batches, 1024
 * and 64 for moderation). Run after a build (docs/PERF.md, "The batch joined, not copied"):
 *
 *   $JAVA_HOME/bin/java -cp runtime/target/classes perf/micro/BatchCopyCost.java 59 8
 */
public final class BatchCopyCost {
    private static final int CALLS = 200_000;

    public static void main(String[] args) {
        int width = Integer.parseInt(args[0]);
        int rows = Integer.parseInt(args[1]);
        List<Tensor> parts = new ArrayList<>(rows);
        for (int r = 0; r < rows; r++) {
            float[] row = new float[width];
            for (int i = 0; i < width; i++) {
                row[i] = r * 1000 + i;
            }
            parts.add(Tensor.ofFloats(new long[] {1, width}, row));
        }
        ByteBuffer staged = ByteBuffer.allocateDirect(width * rows * Float.BYTES).order(ByteOrder.nativeOrder());
        check(parts, staged);
        for (int round = 1; round <= 5; round++) {
            long sink = 0;
            long t0 = System.nanoTime();
            for (int i = 0; i < CALLS; i++) {
                sink += Tensor.joinRows(parts).copyTo(MemorySegment.ofBuffer(staged.clear()), 0);
            }
            long t1 = System.nanoTime();
            for (int i = 0; i < CALLS; i++) {
                FloatBuffer f = staged.clear().asFloatBuffer();
                f.put(Tensor.concatRows(parts).floats());
                sink += f.position();
            }
            long t2 = System.nanoTime();
            System.out.printf("round %d: joined %.0f ns a batch, concatenated (baseline) %.0f ns (%d)%n", round,
                    (t1 - t0) / (double) CALLS, (t2 - t1) / (double) CALLS, sink);
        }
    }

    private static void check(List<Tensor> parts, ByteBuffer staged) {
        Tensor.joinRows(parts).copyTo(MemorySegment.ofBuffer(staged.clear()), 0);
        float[] joined = new float[staged.capacity() / Float.BYTES];
        staged.clear().asFloatBuffer().get(joined);
        staged.clear().asFloatBuffer().put(Tensor.concatRows(parts).floats());
        float[] concatenated = new float[joined.length];
        staged.clear().asFloatBuffer().get(concatenated);
        if (!Arrays.equals(joined, concatenated)) {
            throw new IllegalStateException("the joined batch staged other floats than the concatenated one");
        }
    }
}
