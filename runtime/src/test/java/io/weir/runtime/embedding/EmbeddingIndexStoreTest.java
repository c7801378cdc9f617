package io.weir.runtime.embedding;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class EmbeddingIndexStoreTest {
    @TempDir
    Path dir;

    private final AtomicLong now = new AtomicLong(1_000);
    private final List<String> closedVersions = Collections.synchronizedList(new ArrayList<>());

    /** The real CPU search, recording when the store retires it. */
    private final VectorSearch.Factory recording = index -> new VectorSearch() {
        private final VectorSearch cpu = VectorSearch.cpu(1).create(index);

        @Override
        public Hits[] search(float[] queries, int count, int[] k, int[][] exclude) {
            return cpu.search(queries, count, k, exclude);
        }

        @Override
        public String kind() {
            return "cpu";
        }

        @Override
        public void close() {
            cpu.close();
            closedVersions.add(index.version());
        }
    };

    @Test
    void servesNothingUntilAFileAppearsThenServesIt() throws IOException {
        try (EmbeddingIndexStore store = EmbeddingIndexStore.open(dir, now::get, recording)) {
            assertThat(store.acquire()).isEmpty();
            assertThat(store.version()).isEmpty();
            assertThat(store.ageNanos()).isEqualTo(-1);

            EmbeddingIndexFile.write(dir, Fixtures.random("1.0.0", 1, 20, 4));
            EmbeddingIndexStore.RefreshResult r = store.refresh();
            assertThat(r.swapped()).isTrue();
            assertThat(r.previousVersion()).isNull();
            assertThat(store.version()).hasValue("1.0.0");
            assertThat(store.swaps()).isEqualTo(1);
        }
    }

    @Test
    void swapsAtomicallyAndRetiresTheOldVersionOnlyAfterItsLastLease() throws IOException {
        EmbeddingIndexFile.write(dir, Fixtures.random("1.0.0", 1, 20, 4));
        try (EmbeddingIndexStore store = EmbeddingIndexStore.open(dir, now::get, recording)) {
            EmbeddingIndexStore.Lease old = store.acquire().orElseThrow();
            now.addAndGet(5_000);
            assertThat(store.ageNanos()).isEqualTo(5_000);

            EmbeddingIndexFile.write(dir, Fixtures.random("1.1.0", 2, 30, 4));
            EmbeddingIndexStore.RefreshResult r = store.refresh();
            assertThat(r).isEqualTo(new EmbeddingIndexStore.RefreshResult(true, "1.0.0", "1.1.0"));
            assertThat(store.ageNanos()).isZero();

            // The pinned lease still searches the version it pinned, whole.
            assertThat(old.index().version()).isEqualTo("1.0.0");
            assertThat(old.search().search(old.index().vector(3), 1, new int[] {1}, null)[0].rows()).containsExactly(3);
            assertThat(closedVersions).isEmpty();
            try (EmbeddingIndexStore.Lease fresh = store.acquire().orElseThrow()) {
                assertThat(fresh.index().size()).isEqualTo(30);
            }
            old.close();
            old.close(); // idempotent: must not release twice
            assertThat(closedVersions).containsExactly("1.0.0");
        }
        assertThat(closedVersions).containsExactly("1.0.0", "1.1.0");
    }

    @Test
    void anUnchangedDirectoryIsANoOpAndAnOlderFileIsIgnored() throws IOException {
        EmbeddingIndexFile.write(dir, Fixtures.random("2.0.0", 1, 10, 4));
        try (EmbeddingIndexStore store = EmbeddingIndexStore.open(dir, now::get, recording)) {
            assertThat(store.refresh()).isEqualTo(new EmbeddingIndexStore.RefreshResult(false, "2.0.0", "2.0.0"));
            EmbeddingIndexFile.write(dir, Fixtures.random("1.9.9", 1, 10, 4));
            assertThat(store.refresh().swapped()).isFalse();
            assertThat(store.version()).hasValue("2.0.0");
        }
    }

    @Test
    void aCorruptNewVersionIsRefusedAndTheServedOneStays() throws IOException {
        EmbeddingIndexFile.write(dir, Fixtures.random("1.0.0", 1, 10, 4));
        try (EmbeddingIndexStore store = EmbeddingIndexStore.open(dir, now::get, recording)) {
            Path bad = EmbeddingIndexFile.write(dir, Fixtures.random("1.0.1", 2, 10, 4));
            byte[] b = Files.readAllBytes(bad);
            b[40] ^= 0x7f;
            Files.write(bad, b);
            assertThatThrownBy(store::refresh).isInstanceOf(IOException.class).hasMessageContaining("checksum");
            assertThat(store.version()).hasValue("1.0.0");
            try (EmbeddingIndexStore.Lease lease = store.acquire().orElseThrow()) {
                assertThat(lease.index().version()).isEqualTo("1.0.0");
            }
        }
    }

    @Test
    void theScheduleSwapsInANewFileOnItsOwn() throws Exception {
        EmbeddingIndexFile.write(dir, Fixtures.random("1.0.0", 1, 10, 4));
        try (EmbeddingIndexStore store = EmbeddingIndexStore.open(dir, now::get, recording)) {
            store.refreshEvery(java.time.Duration.ofMillis(20));
            assertThatThrownBy(() -> store.refreshEvery(java.time.Duration.ofMillis(20))).isInstanceOf(IllegalStateException.class);
            EmbeddingIndexFile.write(dir, Fixtures.random("1.0.1", 2, 10, 4));
            // The scheduler is a real thread: wait (bounded) for it rather than drive it.
            long until = System.nanoTime() + 10_000_000_000L;
            while (!store.version().orElseThrow().equals("1.0.1") && System.nanoTime() < until) {
                Thread.sleep(5);
            }
            assertThat(store.version()).hasValue("1.0.1");
            assertThat(closedVersions).containsExactly("1.0.0");
        }
    }

    @Test
    void aClosedStoreLeasesNothing() throws IOException {
        EmbeddingIndexFile.write(dir, Fixtures.random("1.0.0", 1, 10, 4));
        EmbeddingIndexStore store = EmbeddingIndexStore.open(dir, now::get, recording);
        store.close();
        assertThat(store.acquire()).isEmpty();
        assertThat(closedVersions).containsExactly("1.0.0");
        assertThatThrownBy(store::refresh).isInstanceOf(IllegalStateException.class);
    }
}
