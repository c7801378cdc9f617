package io.weir.runtime.embedding;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The demo catalogue's embedding index, generated rather than shipped: {@code items} vectors of {@code dimensions}
 * values in {@code clusters} clusters (each item is its cluster's random unit centroid plus isotropic noise, then
 * normalised), so an item's nearest neighbours are, meaningfully, the other items of its cluster. Everything follows
 * from the seed (SplitMix64 + Box-Muller with {@link StrictMath}), so every machine generates the same vectors.
 *
 * <p>Command line, to make a new version for a refresh:
 * {@code java -cp weir-gateway.jar io.weir.runtime.embedding.DemoEmbeddings --dir DIR --version 1.0.1 [--seed 42]
 * [--items 20000] [--dimensions 256] [--clusters 200]}
 */
public final class DemoEmbeddings {
    public static final String FIRST_VERSION = "1.0.0";
    public static final long DEFAULT_SEED = 42;
    public static final int DEFAULT_ITEMS = 20_000;
    public static final int DEFAULT_DIMENSIONS = 256;
    public static final int DEFAULT_CLUSTERS = 200;
    /** Noise length relative to the unit centroid: same-cluster cosine is about 1/(1+0.8^2) = 0.61, others about 0. */
    static final double NOISE = 0.8;

    /** What was generated: the index, and each row's cluster (for checking that neighbours make sense). */
    public record Generated(EmbeddingIndex index, int[] clusterOfRow) {
    }

    private DemoEmbeddings() {
    }

    public static String itemId(int row) {
        return String.format(Locale.ROOT, "item-%05d", row);
    }

    public static Generated generate(String version, long seed, int items, int dimensions, int clusters, long builtAtEpochMillis) {
        if (items < 1 || dimensions < 1 || clusters < 1) {
            throw new IllegalArgumentException("items, dimensions and clusters must be positive");
        }
        SplitMix rng = new SplitMix(seed);
        float[][] centroids = new float[clusters][dimensions];
        for (float[] c : centroids) {
            rng.gaussians(c, 1.0);
            EmbeddingIndex.normalise(c);
        }
        double noisePerDimension = NOISE / Math.sqrt(dimensions);
        float[] vectors = new float[items * dimensions];
        int[] clusterOf = new int[items];
        float[] noise = new float[dimensions];
        List<String> ids = new ArrayList<>(items);
        for (int r = 0; r < items; r++) {
            int c = rng.nextInt(clusters);
            clusterOf[r] = c;
            rng.gaussians(noise, noisePerDimension);
            float[] v = new float[dimensions];
            for (int i = 0; i < dimensions; i++) {
                v[i] = centroids[c][i] + noise[i];
            }
            EmbeddingIndex.normalise(v);
            System.arraycopy(v, 0, vectors, r * dimensions, dimensions);
            ids.add(itemId(r));
        }
        return new Generated(new EmbeddingIndex(version, builtAtEpochMillis, dimensions, ids, vectors), clusterOf);
    }

    public static Generated generateDefault(String version, long seed) {
        return generate(version, seed, DEFAULT_ITEMS, DEFAULT_DIMENSIONS, DEFAULT_CLUSTERS, System.currentTimeMillis());
    }

    /**
     * Writes the default demo index as version {@value #FIRST_VERSION} when {@code dir} holds no index file yet (first
     * start); otherwise leaves the directory alone.
     *
     * @return true when it generated one
     */
    public static boolean ensure(Path dir) throws IOException {
        if (!EmbeddingIndexFile.list(dir).isEmpty()) {
            return false;
        }
        EmbeddingIndexFile.write(dir, generateDefault(FIRST_VERSION, DEFAULT_SEED).index());
        return true;
    }

    public static void main(String[] args) throws IOException {
        Path dir = null;
        String version = null;
        long seed = DEFAULT_SEED;
        int items = DEFAULT_ITEMS;
        int dims = DEFAULT_DIMENSIONS;
        int clusters = DEFAULT_CLUSTERS;
        for (int i = 0; i + 1 < args.length; i += 2) {
            switch (args[i]) {
                case "--dir" -> dir = Path.of(args[i + 1]);
                case "--version" -> version = args[i + 1];
                case "--seed" -> seed = Long.parseLong(args[i + 1]);
                case "--items" -> items = Integer.parseInt(args[i + 1]);
                case "--dimensions" -> dims = Integer.parseInt(args[i + 1]);
                case "--clusters" -> clusters = Integer.parseInt(args[i + 1]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (dir == null || version == null || args.length % 2 != 0) {
            System.err.println("usage: DemoEmbeddings --dir DIR --version X.Y.Z [--seed N] [--items N] [--dimensions N] [--clusters N]");
            System.exit(2);
            return;
        }
        Path file = EmbeddingIndexFile.write(dir, generate(version, seed, items, dims, clusters, System.currentTimeMillis()).index());
        System.out.println("wrote " + file);
    }

    /** SplitMix64 with Box-Muller pairs; not thread-safe. */
    private static final class SplitMix {
        private long state;

        SplitMix(long seed) {
            state = seed;
        }

        long nextLong() {
            long z = (state += 0x9E3779B97F4A7C15L);
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            return z ^ (z >>> 31);
        }

        double nextDouble() {
            return (nextLong() >>> 11) * 0x1.0p-53;
        }

        int nextInt(int bound) {
            return (int) Long.remainderUnsigned(nextLong(), bound);
        }

        /** Fills {@code out} with independent normal values of standard deviation {@code sigma}. */
        void gaussians(float[] out, double sigma) {
            for (int i = 0; i < out.length; i += 2) {
                double radius = StrictMath.sqrt(-2.0 * StrictMath.log(1.0 - nextDouble())) * sigma;
                double angle = 2.0 * StrictMath.PI * nextDouble();
                out[i] = (float) (radius * StrictMath.cos(angle));
                if (i + 1 < out.length) {
                    out[i + 1] = (float) (radius * StrictMath.sin(angle));
                }
            }
        }
    }
}
