package io.weir.runtime.embedding;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** The blocked, chunked, parallel search returns exactly what sorting every score returns. */
class CpuVectorSearchTest {

    @ParameterizedTest(name = "seed {0}: {1} items x {2} dims, {3} queries, parallelism {4}")
    @CsvSource({
            "1, 5003, 64, 7, 1",
            "2, 5003, 64, 7, 3",
            "3, 4096, 31, 1, 2",
            "4, 9, 5, 3, 4",
            "5, 1, 3, 2, 2",
            "6, 20000, 16, 33, 2",
    })
    void matchesABruteForceSort(long seed, int items, int dims, int queryCount, int parallelism) {
        EmbeddingIndex index = Fixtures.random("1.0.0", seed, items, dims);
        Random rnd = new Random(seed * 31);
        float[] queries = new float[queryCount * dims];
        int[] k = new int[queryCount];
        int[][] exclude = new int[queryCount][];
        for (int q = 0; q < queryCount; q++) {
            System.arraycopy(Fixtures.unitQuery(rnd, dims), 0, queries, q * dims, dims);
            k[q] = 1 + rnd.nextInt(Math.min(items + 3, 60));
            exclude[q] = q % 2 == 0 ? new int[0] : rnd.ints(3, 0, items).toArray();
        }
        try (VectorSearch search = VectorSearch.cpu(parallelism).create(index)) {
            VectorSearch.Hits[] hits = search.search(queries, queryCount, k, exclude);
            assertThat(search.kind()).isEqualTo("cpu");
            for (int q = 0; q < queryCount; q++) {
                int[] expected = bruteForce(index, queries, q, k[q], exclude[q]);
                assertThat(hits[q].rows()).as("query %d", q).containsExactly(expected);
                for (int j = 0; j < expected.length; j++) {
                    assertThat(hits[q].scores()[j]).isEqualTo(dot(index, queries, q, expected[j]));
                }
            }
        }
    }

    private static int[] bruteForce(EmbeddingIndex index, float[] queries, int q, int k, int[] exclude) {
        float[] scores = new float[index.size()];
        for (int r = 0; r < scores.length; r++) {
            scores[r] = dot(index, queries, q, r);
        }
        return IntStream.range(0, index.size()).boxed()
                .filter(r -> Arrays.stream(exclude).noneMatch(e -> e == r))
                .sorted(Comparator.<Integer>comparingDouble(r -> -scores[r]).thenComparingInt(r -> r))
                .limit(k).mapToInt(Integer::intValue).toArray();
    }

    /** Same operation order as the kernel (strict IEEE arithmetic), so scores compare exactly. */
    private static float dot(EmbeddingIndex index, float[] queries, int q, int r) {
        float[] v = index.vector(r);
        float s = 0;
        for (int i = 0; i < v.length; i++) {
            s += queries[q * v.length + i] * v[i];
        }
        return s;
    }
}
