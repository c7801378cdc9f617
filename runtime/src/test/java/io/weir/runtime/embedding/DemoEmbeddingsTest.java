package io.weir.runtime.embedding;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

class DemoEmbeddingsTest {

    @Test
    void theSameSeedGivesTheSameVectorsAndAnotherSeedOthers() {
        EmbeddingIndex a = DemoEmbeddings.generate("1.0.0", 5, 300, 24, 10, 0).index();
        EmbeddingIndex b = DemoEmbeddings.generate("1.0.0", 5, 300, 24, 10, 99).index();
        EmbeddingIndex c = DemoEmbeddings.generate("1.0.0", 6, 300, 24, 10, 0).index();
        for (int r = 0; r < 300; r += 37) {
            assertThat(b.vector(r)).containsExactly(a.vector(r));
        }
        assertThat(c.vector(0)).isNotEqualTo(a.vector(0));
        assertThat(a.id(12)).isEqualTo("item-00012");
    }

    @Test
    void firstStartGeneratesTheFullDemoIndexOnceAndItsNeighboursShareAClusterFile(@TempDir Path dir) throws IOException {
        assertThat(DemoEmbeddings.ensure(dir)).isTrue();
        assertThat(DemoEmbeddings.ensure(dir)).isFalse();
        EmbeddingIndex index = EmbeddingIndexFile.read(EmbeddingIndexFile.newest(dir).orElseThrow());
        assertThat(index.version()).isEqualTo(DemoEmbeddings.FIRST_VERSION);
        assertThat(index.size()).isEqualTo(DemoEmbeddings.DEFAULT_ITEMS);
        assertThat(index.dimensions()).isEqualTo(DemoEmbeddings.DEFAULT_DIMENSIONS);

        int[] clusters = DemoEmbeddings.generate("1.0.0", DemoEmbeddings.DEFAULT_SEED, DemoEmbeddings.DEFAULT_ITEMS,
                DemoEmbeddings.DEFAULT_DIMENSIONS, DemoEmbeddings.DEFAULT_CLUSTERS, 0).clusterOfRow();
        Random rnd = new Random(3);
        int queries = 16;
        float[] q = new float[queries * index.dimensions()];
        int[] rows = new int[queries];
        int[] k = new int[queries];
        int[][] exclude = new int[queries][];
        for (int i = 0; i < queries; i++) {
            rows[i] = rnd.nextInt(index.size());
            System.arraycopy(index.vector(rows[i]), 0, q, i * index.dimensions(), index.dimensions());
            k[i] = 10;
            exclude[i] = new int[] {rows[i]};
        }
        try (VectorSearch search = VectorSearch.cpu(2).create(index)) {
            VectorSearch.Hits[] hits = search.search(q, queries, k, exclude);
            for (int i = 0; i < queries; i++) {
                for (int r : hits[i].rows()) {
                    assertThat(clusters[r]).isEqualTo(clusters[rows[i]]);
                }
                assertThat(hits[i].scores()[9]).isGreaterThan(0.4f);
            }
        }
    }
}
