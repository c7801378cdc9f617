package io.weir.runtime.embedding;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalInt;

/**
 * One immutable version of the embedding table: {@code size()} item ids and, row-major in one contiguous
 * {@code float[]}, their L2-normalised vectors of {@code dimensions()} values, so cosine similarity is a dot product.
 * Immutable after construction and therefore safe to share between any number of threads.
 */
public final class EmbeddingIndex {
    /** Vectors whose length differs from 1 by more than this are rejected (float32 rounding stays well below it). */
    static final float NORM_TOLERANCE = 1e-3f;

    private final String version;
    private final long builtAtEpochMillis;
    private final int dimensions;
    private final String[] ids;
    private final float[] vectors;
    private final Map<String, Integer> rows;

    /**
     * @param vectors row-major, {@code ids.size() * dimensions} values, each row L2-normalised; taken, not copied
     * @throws IllegalArgumentException for empty or duplicate ids, a wrong vector count, non-finite values or rows
     *                                  that are not unit length
     */
    public EmbeddingIndex(String version, long builtAtEpochMillis, int dimensions, List<String> ids, float[] vectors) {
        this.version = Objects.requireNonNull(version, "version");
        this.builtAtEpochMillis = builtAtEpochMillis;
        if (dimensions < 1) {
            throw new IllegalArgumentException("an index needs at least one dimension, was " + dimensions);
        }
        if (ids.isEmpty()) {
            throw new IllegalArgumentException("an index needs at least one item");
        }
        if ((long) ids.size() * dimensions != vectors.length) {
            throw new IllegalArgumentException(ids.size() + " items of " + dimensions + " dimensions need "
                    + (long) ids.size() * dimensions + " values, got " + vectors.length);
        }
        this.dimensions = dimensions;
        this.ids = ids.toArray(String[]::new);
        this.vectors = vectors;
        this.rows = HashMap.newHashMap(this.ids.length);
        for (int r = 0; r < this.ids.length; r++) {
            String id = this.ids[r];
            if (id == null || id.isEmpty()) {
                throw new IllegalArgumentException("item " + r + " has an empty id");
            }
            if (rows.putIfAbsent(id, r) != null) {
                throw new IllegalArgumentException("item id '" + id + "' appears twice");
            }
            double norm = 0;
            for (int d = 0, o = r * dimensions; d < dimensions; d++) {
                float v = vectors[o + d];
                if (!Float.isFinite(v)) {
                    throw new IllegalArgumentException("item '" + id + "' has a non-finite value");
                }
                norm += (double) v * v;
            }
            if (Math.abs(Math.sqrt(norm) - 1.0) > NORM_TOLERANCE) {
                throw new IllegalArgumentException("item '" + id + "' is not L2-normalised (norm " + Math.sqrt(norm) + ")");
            }
        }
    }

    public String version() {
        return version;
    }

    /** When the file was built (wall clock), for staleness reporting. */
    public long builtAtEpochMillis() {
        return builtAtEpochMillis;
    }

    public int dimensions() {
        return dimensions;
    }

    public int size() {
        return ids.length;
    }

    public String id(int row) {
        return ids[row];
    }

    public OptionalInt row(String id) {
        Integer r = rows.get(id);
        return r == null ? OptionalInt.empty() : OptionalInt.of(r);
    }

    /** The backing row-major array (not a copy): read-only by contract, for search implementations. */
    float[] vectors() {
        return vectors;
    }

    /** A copy of one item's vector. */
    public float[] vector(int row) {
        return Arrays.copyOfRange(vectors, row * dimensions, (row + 1) * dimensions);
    }

    /**
     * Scales {@code v} in place to unit length.
     *
     * @return false (and {@code v} untouched) when {@code v} is all zeros or has a non-finite value
     */
    public static boolean normalise(float[] v) {
        double norm = 0;
        for (float x : v) {
            if (!Float.isFinite(x)) {
                return false;
            }
            norm += (double) x * x;
        }
        if (!(norm > 0) || !Double.isFinite(norm)) {
            return false;
        }
        double inv = 1.0 / Math.sqrt(norm);
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] * inv);
        }
        return true;
    }

    @Override
    public String toString() {
        return "EmbeddingIndex[" + version + ", " + ids.length + " x " + dimensions + "]";
    }
}
