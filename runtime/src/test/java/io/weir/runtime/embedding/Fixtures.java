package io.weir.runtime.embedding;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Small seeded indexes for the tests. */
final class Fixtures {
    private Fixtures() {
    }

    static EmbeddingIndex random(String version, long seed, int items, int dims) {
        Random rnd = new Random(seed);
        float[] v = new float[items * dims];
        List<String> ids = new ArrayList<>(items);
        float[] row = new float[dims];
        for (int r = 0; r < items; r++) {
            for (int i = 0; i < dims; i++) {
                row[i] = (float) rnd.nextGaussian();
            }
            EmbeddingIndex.normalise(row);
            System.arraycopy(row, 0, v, r * dims, dims);
            ids.add("id-" + r);
        }
        return new EmbeddingIndex(version, 1_700_000_000_000L, dims, ids, v);
    }

    static float[] unitQuery(Random rnd, int dims) {
        float[] q = new float[dims];
        for (int i = 0; i < dims; i++) {
            q[i] = (float) rnd.nextGaussian();
        }
        EmbeddingIndex.normalise(q);
        return q;
    }
}
