package io.weir.gateway.grpc;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.client.WebClient;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.weir.gateway.grpc.proto.similar.GetSimilarRequest;
import io.weir.gateway.grpc.proto.similar.GetSimilarResponse;
import io.weir.gateway.grpc.proto.similar.SimilarGrpcClient;
import io.weir.runtime.embedding.DemoEmbeddings;
import io.weir.runtime.embedding.EmbeddingIndex;
import io.weir.runtime.embedding.EmbeddingIndexFile;
import io.weir.runtime.embedding.VectorSearch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static io.weir.gateway.grpc.GrpcTestServer.call;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A new index version swapped in by the admin call while GetSimilar runs at full concurrency: no call fails, and
 * every answer is exactly the one its reported version gives (no half-swapped state), the new version from the
 * moment the refresh has answered.
 */
@ExtendWith(VertxExtension.class)
class GrpcIndexSwapTest {
    private static final int IN_FLIGHT = 16;
    private static final int QUERY_ITEMS = 40;
    private static final int K = 5;

    @TempDir
    Path indexDir;
    private GrpcTestServer server;

    @BeforeEach
    void start() throws Exception {
        server = GrpcTestServer.start(indexDir);
    }

    @AfterEach
    void stop() {
        server.close();
    }

    /** What one call returned, and whether it started after the refresh had answered. */
    private record Observed(GrpcStatus status, String message, String version, int item, List<String> neighbors, boolean afterSwap) {
    }

    @Test
    void swappingTheIndexUnderLoadFailsNoCall(Vertx vertx, VertxTestContext tc) throws Exception {
        EmbeddingIndex v1 = GrpcTestServer.demoIndex("1.0.0", 42);
        EmbeddingIndex v2 = GrpcTestServer.demoIndex("1.1.0", 77);
        Map<String, List<List<String>>> expected = Map.of("1.0.0", expectedNeighbours(v1), "1.1.0", expectedNeighbours(v2));

        GrpcClient client = GrpcTestServer.client(vertx);
        WebClient web = WebClient.create(vertx);
        // Callbacks may arrive on more than one event loop: shared state is synchronized/atomic.
        List<Observed> observed = Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean swapped = new AtomicBoolean();
        List<Future<Void>> loops = new ArrayList<>();
        for (int w = 0; w < IN_FLIGHT; w++) {
            Promise<Void> done = Promise.promise();
            loops.add(done.future());
            loop(client, w, observed, stop, swapped, done);
        }
        vertx.setTimer(800, t -> vertx.executeBlocking(() -> EmbeddingIndexFile.write(indexDir, v2))
                .compose(file -> web.request(HttpMethod.POST, server.port, "127.0.0.1", SimilarAdmin.REFRESH_PATH).send())
                .onComplete(tc.succeeding(resp -> {
                    tc.verify(() -> {
                        assertThat(resp.statusCode()).isEqualTo(200);
                        assertThat(resp.bodyAsJsonObject().getString("version")).isEqualTo("1.1.0");
                    });
                    swapped.set(true);
                    vertx.setTimer(800, t2 -> stop.set(true));
                })));
        Future.all(loops).onComplete(tc.succeeding(v -> tc.verify(() -> {
            List<Observed> all;
            synchronized (observed) {
                all = List.copyOf(observed);
            }
            List<Observed> failed = all.stream().filter(o -> o.status() != GrpcStatus.OK).toList();
            assertThat(failed).as("failed calls").isEmpty();
            Map<String, Integer> byVersion = new HashMap<>();
            for (Observed o : all) {
                byVersion.merge(o.version(), 1, Integer::sum);
                assertThat(o.neighbors()).as("item %d on %s", o.item(), o.version())
                        .isEqualTo(expected.get(o.version()).get(o.item()));
                if (o.afterSwap()) {
                    assertThat(o.version()).isEqualTo("1.1.0");
                }
            }
            assertThat(byVersion.keySet()).containsExactlyInAnyOrder("1.0.0", "1.1.0");
            assertThat(all.size()).isGreaterThan(100);
            tc.completeNow();
        })));
        assertThat(tc.awaitCompletion(60, TimeUnit.SECONDS)).isTrue();
    }

    private void loop(GrpcClient client, int worker, List<Observed> observed, AtomicBoolean stop, AtomicBoolean swapped, Promise<Void> done) {
        if (stop.get()) {
            done.complete();
            return;
        }
        int item = (worker * 7 + observed.size()) % QUERY_ITEMS;
        boolean afterSwap = swapped.get();
        GetSimilarRequest req = GetSimilarRequest.newBuilder().addItemIds(DemoEmbeddings.itemId(item)).setK(K).build();
        call(client, server.address(), SimilarGrpcClient.GetSimilar, req, 5_000_000).onComplete(ar -> {
            if (ar.failed()) {
                observed.add(new Observed(GrpcStatus.UNAVAILABLE, ar.cause().toString(), null, item, List.of(), afterSwap));
            } else {
                GrpcTestServer.Outcome<GetSimilarResponse> o = ar.result();
                GetSimilarResponse r = o.status() == GrpcStatus.OK ? o.body() : GetSimilarResponse.getDefaultInstance();
                observed.add(new Observed(o.status(), o.message(), r.getIndexVersion(), item,
                        r.getNeighborsList().stream().map(GetSimilarResponse.Neighbor::getItemId).toList(), afterSwap));
            }
            loop(client, worker, observed, stop, swapped, done);
        });
    }

    /** For each query item, its K neighbours computed directly on the index (the query is the item's own vector). */
    private static List<List<String>> expectedNeighbours(EmbeddingIndex index) {
        List<List<String>> out = new ArrayList<>();
        try (VectorSearch search = VectorSearch.cpu(1).create(index)) {
            for (int item = 0; item < QUERY_ITEMS; item++) {
                float[] q = index.vector(item);
                EmbeddingIndex.normalise(q);
                VectorSearch.Hits hits = search.search(q, 1, new int[] {K}, new int[][] {{item}})[0];
                List<String> ids = new ArrayList<>();
                for (int r : hits.rows()) {
                    ids.add(index.id(r));
                }
                out.add(ids);
            }
        }
        return out;
    }
}
