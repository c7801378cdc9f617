package io.weir.runtime.embedding;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EmbeddingIndexFileTest {
    @TempDir
    Path dir;

    @Test
    void writesAndReadsBackEveryIdAndVectorBitForBit() throws IOException {
        EmbeddingIndex index = Fixtures.random("1.2.3", 7, 300, 17);
        Path file = EmbeddingIndexFile.write(dir, index);
        assertThat(file.getFileName().toString()).isEqualTo("index-1.2.3.bin");

        EmbeddingIndex back = EmbeddingIndexFile.read(file);
        assertThat(back.version()).isEqualTo("1.2.3");
        assertThat(back.builtAtEpochMillis()).isEqualTo(index.builtAtEpochMillis());
        assertThat(back.size()).isEqualTo(300);
        assertThat(back.dimensions()).isEqualTo(17);
        for (int r = 0; r < 300; r++) {
            assertThat(back.id(r)).isEqualTo(index.id(r));
            assertThat(back.vector(r)).containsExactly(index.vector(r));
        }
        assertThat(back.row("id-299")).hasValue(299);
        assertThat(Files.list(dir).map(p -> p.getFileName().toString()).toList()).containsExactly("index-1.2.3.bin");
    }

    @Test
    void refusesAFileWithAFlippedByte() throws IOException {
        Path file = EmbeddingIndexFile.write(dir, Fixtures.random("1.0.0", 1, 50, 8));
        byte[] b = Files.readAllBytes(file);
        b[b.length / 2] ^= 0x01;
        Files.write(file, b);
        assertThatThrownBy(() -> EmbeddingIndexFile.read(file)).isInstanceOf(IOException.class).hasMessageContaining("checksum");
    }

    @Test
    void refusesATruncatedFile() throws IOException {
        Path file = EmbeddingIndexFile.write(dir, Fixtures.random("1.0.0", 1, 50, 8));
        byte[] b = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(b, b.length - 100));
        assertThatThrownBy(() -> EmbeddingIndexFile.read(file)).isInstanceOf(IOException.class);
    }

    @Test
    void refusesAFileWhoseNameDisagreesWithItsVersion() throws IOException {
        Path file = EmbeddingIndexFile.write(dir, Fixtures.random("1.0.0", 1, 5, 4));
        Path renamed = Files.move(file, dir.resolve("index-2.0.0.bin"));
        assertThatThrownBy(() -> EmbeddingIndexFile.read(renamed)).isInstanceOf(IOException.class).hasMessageContaining("holds version 1.0.0");
    }

    @Test
    void ordersVersionsSemanticallyAndIgnoresOtherFiles() throws IOException {
        for (String v : List.of("1.0.9", "1.0.10", "0.9.0")) {
            EmbeddingIndexFile.write(dir, Fixtures.random(v, 1, 3, 2));
        }
        Files.writeString(dir.resolve("index-latest.bin"), "not an index");
        Files.writeString(dir.resolve("notes.txt"), "x");
        assertThat(EmbeddingIndexFile.list(dir)).extracting(p -> p.getFileName().toString())
                .containsExactly("index-0.9.0.bin", "index-1.0.9.bin", "index-1.0.10.bin");
        assertThat(EmbeddingIndexFile.newest(dir)).hasValueSatisfying(p -> assertThat(p.getFileName().toString()).isEqualTo("index-1.0.10.bin"));
        assertThat(EmbeddingIndexFile.newest(dir.resolve("missing"))).isEmpty();
    }

    @Test
    void anIndexRejectsVectorsThatAreNotUnitLengthAndDuplicateIds() {
        assertThatThrownBy(() -> new EmbeddingIndex("1.0.0", 0, 2, List.of("a"), new float[] {1, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("normalised");
        assertThatThrownBy(() -> new EmbeddingIndex("1.0.0", 0, 2, List.of("a", "a"), new float[] {1, 0, 0, 1}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("twice");
        assertThatThrownBy(() -> new EmbeddingIndex("1.0.0", 0, 2, List.of("a"), new float[] {Float.NaN, 0}))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("non-finite");
    }

    @Test
    void refusesASmallFileThatDeclaresAHugeIndexBeforeAllocatingIt() throws Exception {
        Path file = EmbeddingIndexFile.write(dir, Fixtures.random("1.0.0", 1, 5, 8));
        byte[] b = Files.readAllBytes(file);
        // count (after the 8-byte magic, little-endian) raised to 200 million x 8 dims, the checksum made to match:
        // the file vouches for its own bytes, not for the sizes they declare.
        java.nio.ByteBuffer.wrap(b, 8, 4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(200_000_000);
        byte[] sha = java.security.MessageDigest.getInstance("SHA-256").digest(java.util.Arrays.copyOf(b, b.length - 32));
        System.arraycopy(sha, 0, b, b.length - 32, 32);
        Files.write(file, b);
        assertThatThrownBy(() -> EmbeddingIndexFile.read(file)).isInstanceOf(IOException.class)
                .hasMessageContaining("declares 200000000 x 8 but holds only");
    }
}
