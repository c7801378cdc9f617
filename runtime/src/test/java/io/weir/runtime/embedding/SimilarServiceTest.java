package io.weir.runtime.embedding;

import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/** Queries, validation, deadlines, back-pressure and batching, driven without the worker thread (runBatch). */
class SimilarServiceTest {
    private static final long NO_DEADLINE = Long.MAX_VALUE;

    @TempDir
    Path dir;

    private final AtomicLong now = new AtomicLong();
    private DemoEmbeddings.Generated demo;
    private EmbeddingIndexStore store;
    private SimilarService service;

    @BeforeEach
    void open() throws IOException {
        demo = DemoEmbeddings.generate("1.0.0", 9, 2_000, 32, 20, 0);
        EmbeddingIndexFile.write(dir, demo.index());
        store = EmbeddingIndexStore.open(dir, now::get, VectorSearch.cpu(2));
        service = new SimilarService(store, now::get, new SimilarService.Options(8, 4));
    }

    @AfterEach
    void close() {
        service.close();
        store.close();
    }

    @Test
    void neighboursOfAnItemAreItsClusterBestFirstWithoutTheItemItself() throws Exception {
        CompletableFuture<SimilarService.Result> f = service.submit(new SimilarService.Query(List.of("item-00042"), null, 10), NO_DEADLINE);
        assertThat(service.runBatch()).isEqualTo(1);
        SimilarService.Result r = f.get(0, TimeUnit.SECONDS);
        assertThat(r.indexVersion()).isEqualTo("1.0.0");
        assertThat(r.searchKind()).isEqualTo("cpu");
        assertThat(r.neighbors()).hasSize(10).extracting(SimilarService.Neighbor::itemId).doesNotContain("item-00042");
        int cluster = demo.clusterOfRow()[42];
        for (SimilarService.Neighbor n : r.neighbors()) {
            assertThat(demo.clusterOfRow()[demo.index().row(n.itemId()).orElseThrow()]).isEqualTo(cluster);
        }
        for (int i = 1; i < 10; i++) {
            assertThat(r.neighbors().get(i).score()).isLessThanOrEqualTo(r.neighbors().get(i - 1).score());
        }
    }

    @Test
    void anItemsOwnVectorFindsItFirstWithScoreOneEvenUnnormalised() throws Exception {
        float[] v = demo.index().vector(7);
        for (int i = 0; i < v.length; i++) {
            v[i] *= 3.5f;
        }
        CompletableFuture<SimilarService.Result> f = service.submit(new SimilarService.Query(null, v, 3), NO_DEADLINE);
        service.runBatch();
        SimilarService.Result r = f.get(0, TimeUnit.SECONDS);
        assertThat(r.neighbors().getFirst().itemId()).isEqualTo("item-00007");
        assertThat(r.neighbors().getFirst().score()).isCloseTo(1.0f, org.assertj.core.data.Offset.offset(1e-5f));
    }

    @Test
    void badQueriesAreInvalidArgumentBeforeQueueing() {
        float[] nan = new float[32];
        nan[3] = Float.NaN;
        List<SimilarService.Query> bad = List.of(
                new SimilarService.Query(List.of(), null, 5),
                new SimilarService.Query(List.of("item-00001"), new float[32], 5),
                new SimilarService.Query(List.of("item-00001"), null, 0),
                new SimilarService.Query(List.of("item-00001"), null, SimilarService.MAX_K + 1),
                new SimilarService.Query(List.of(""), null, 5),
                new SimilarService.Query(null, nan, 5));
        for (SimilarService.Query q : bad) {
            assertThat(code(service.submit(q, NO_DEADLINE))).as(q.toString()).isEqualTo(ErrorCode.INVALID_ARGUMENT);
        }
        assertThat(service.queued()).isZero();
    }

    @Test
    void indexDependentErrorsComeFromTheBatch() {
        CompletableFuture<SimilarService.Result> unknown = service.submit(new SimilarService.Query(List.of("item-00001", "nope"), null, 5), NO_DEADLINE);
        CompletableFuture<SimilarService.Result> wrongDims = service.submit(new SimilarService.Query(null, new float[] {1, 2, 3}, 5), NO_DEADLINE);
        CompletableFuture<SimilarService.Result> zeros = service.submit(new SimilarService.Query(null, new float[32], 5), NO_DEADLINE);
        CompletableFuture<SimilarService.Result> fine = service.submit(new SimilarService.Query(List.of("item-00001"), null, 5), NO_DEADLINE);
        assertThat(service.runBatch()).isEqualTo(4);
        assertThat(code(unknown)).isEqualTo(ErrorCode.NOT_FOUND);
        assertThat(message(unknown)).contains("nope").doesNotContain("item-00001");
        assertThat(code(wrongDims)).isEqualTo(ErrorCode.INVALID_ARGUMENT);
        assertThat(message(wrongDims)).contains("32 dimensions");
        assertThat(code(zeros)).isEqualTo(ErrorCode.INVALID_ARGUMENT);
        assertThat(fine).isCompleted();
        assertThat(service.batches()).isEqualTo(1);
    }

    @Test
    void aQueryPastItsDeadlineIsNotSearched() {
        CompletableFuture<SimilarService.Result> late = service.submit(new SimilarService.Query(List.of("item-00001"), null, 5), now.get() + 1_000);
        CompletableFuture<SimilarService.Result> onTime = service.submit(new SimilarService.Query(List.of("item-00001"), null, 5), now.get() + 5_000);
        now.addAndGet(1_000);
        service.runBatch();
        assertThat(code(late)).isEqualTo(ErrorCode.DEADLINE_EXCEEDED);
        assertThat(onTime).isCompleted().isNotCompletedExceptionally();
        assertThat(service.queriesSearched()).isEqualTo(1);
    }

    @Test
    void aFullQueueShedsWithResourceExhausted() {
        List<CompletableFuture<SimilarService.Result>> all = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            all.add(service.submit(new SimilarService.Query(List.of("item-00001"), null, 1), NO_DEADLINE));
        }
        assertThat(code(all.get(8))).isEqualTo(ErrorCode.RESOURCE_EXHAUSTED);
        // Batches of at most 4: 8 queued queries take two passes.
        assertThat(service.runBatch()).isEqualTo(4);
        assertThat(service.runBatch()).isEqualTo(4);
        assertThat(service.batches()).isEqualTo(2);
        assertThat(all.subList(0, 8)).allSatisfy(f -> assertThat(f).isCompleted().isNotCompletedExceptionally());
    }

    @Test
    void withoutAnIndexQueriesAreUnavailable(@TempDir Path empty) throws IOException {
        try (EmbeddingIndexStore none = EmbeddingIndexStore.open(empty, now::get, VectorSearch.cpu(1));
             SimilarService s = new SimilarService(none, now::get, SimilarService.Options.defaults())) {
            CompletableFuture<SimilarService.Result> f = s.submit(new SimilarService.Query(List.of("item-00001"), null, 1), NO_DEADLINE);
            s.runBatch();
            assertThat(code(f)).isEqualTo(ErrorCode.UNAVAILABLE);
        }
    }

    @Test
    void aKBeyondTheMainSearchsLimitFallsBackToTheCpu() throws IOException {
        VectorSearch.Factory limited = index -> new VectorSearch() {
            private final VectorSearch cpu = VectorSearch.cpu(1).create(index);

            @Override
            public Hits[] search(float[] queries, int count, int[] k, int[][] exclude) {
                for (int j = 0; j < count; j++) {
                    assertThat(k[j] + (exclude[j] == null ? 0 : exclude[j].length)).isLessThanOrEqualTo(maxK());
                }
                return cpu.search(queries, count, k, exclude);
            }

            @Override
            public int maxK() {
                return 8;
            }

            @Override
            public String kind() {
                return "limited";
            }
        };
        try (EmbeddingIndexStore s = EmbeddingIndexStore.open(dir, now::get, limited);
             SimilarService svc = new SimilarService(s, now::get, SimilarService.Options.defaults())) {
            CompletableFuture<SimilarService.Result> small = svc.submit(new SimilarService.Query(List.of("item-00001"), null, 7), NO_DEADLINE);
            CompletableFuture<SimilarService.Result> large = svc.submit(new SimilarService.Query(List.of("item-00001"), null, 8), NO_DEADLINE);
            svc.runBatch();
            assertThat(small.join().searchKind()).isEqualTo("limited");
            assertThat(large.join().searchKind()).isEqualTo("cpu");
            assertThat(large.join().neighbors().subList(0, 7)).isEqualTo(small.join().neighbors());
        }
    }

    @Test
    void theWorkerThreadAnswersOnItsOwn() throws Exception {
        service.start();
        SimilarService.Result r = service.submit(new SimilarService.Query(List.of("item-00100", "item-00101"), null, 4), NO_DEADLINE)
                .get(10, TimeUnit.SECONDS);
        assertThat(r.neighbors()).hasSize(4);
    }

    private static ErrorCode code(CompletableFuture<?> f) {
        try {
            f.get(0, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof WeirException w) {
                return w.code();
            }
            fail("not a WeirException", e.getCause());
        } catch (Exception e) {
            fail("not completed", e);
        }
        return fail("completed normally");
    }

    private static String message(CompletableFuture<?> f) {
        return f.handle((v, e) -> e.getMessage()).join();
    }
}
