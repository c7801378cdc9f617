package io.weir.runtime.embedding;

/**
 * A bounded min-heap of (score, row) pairs keeping the {@code capacity} best: higher score wins, then lower row, so
 * results are deterministic whatever order rows arrive in. Primitive arrays, no boxing. Not thread-safe: one per
 * query per search task.
 */
final class TopK {
    private final float[] scores;
    private final int[] rows;
    private int size;

    TopK(int capacity) {
        scores = new float[Math.max(1, capacity)];
        rows = new int[Math.max(1, capacity)];
    }

    int size() {
        return size;
    }

    /** The score a candidate must beat to get in once the heap is full ({@code -inf} until then). */
    float threshold() {
        return size < scores.length ? Float.NEGATIVE_INFINITY : scores[0];
    }

    void offer(float score, int row) {
        if (size < scores.length) {
            int i = size++;
            scores[i] = score;
            rows[i] = row;
            siftUp(i);
        } else if (better(score, row, scores[0], rows[0])) {
            scores[0] = score;
            rows[0] = row;
            siftDown(0);
        }
    }

    void addAll(TopK other) {
        for (int i = 0; i < other.size; i++) {
            offer(other.scores[i], other.rows[i]);
        }
    }

    /** Drains into hits, best first; the heap is empty afterwards. */
    VectorSearch.Hits drain() {
        int n = size;
        int[] r = new int[n];
        float[] s = new float[n];
        for (int i = n - 1; i >= 0; i--) {
            s[i] = scores[0];
            r[i] = rows[0];
            size--;
            if (size > 0) {
                scores[0] = scores[size];
                rows[0] = rows[size];
                siftDown(0);
            }
        }
        return new VectorSearch.Hits(r, s);
    }

    static boolean better(float s1, int r1, float s2, int r2) {
        return s1 > s2 || (s1 == s2 && r1 < r2);
    }

    private void siftUp(int i) {
        float s = scores[i];
        int r = rows[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (!better(scores[parent], rows[parent], s, r)) {
                break;
            }
            scores[i] = scores[parent];
            rows[i] = rows[parent];
            i = parent;
        }
        scores[i] = s;
        rows[i] = r;
    }

    private void siftDown(int i) {
        float s = scores[i];
        int r = rows[i];
        int half = size >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            int right = child + 1;
            if (right < size && better(scores[child], rows[child], scores[right], rows[right])) {
                child = right;
            }
            if (!better(s, r, scores[child], rows[child])) {
                break;
            }
            scores[i] = scores[child];
            rows[i] = rows[child];
            i = child;
        }
        scores[i] = s;
        rows[i] = r;
    }
}
