package io.weir.gateway.grpc;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.grpc.server.GrpcServer;
import io.weir.gateway.grpc.proto.similar.GetSimilarRequest;
import io.weir.gateway.grpc.proto.similar.GetSimilarResponse;
import io.weir.gateway.grpc.proto.similar.SimilarGrpcService;
import io.weir.runtime.embedding.SimilarService;

import java.util.concurrent.CompletableFuture;

/**
 * {@code weir.similar.v1.Similar/GetSimilar}: hands the query to {@link SimilarService} (which batches it with
 * concurrent ones) with the client's remaining {@code grpc-timeout} as its deadline, and maps neighbours back.
 * Stateless.
 */
final class SimilarEndpoint {
    private final SimilarService similar;
    private final GrpcMetrics metrics;

    SimilarEndpoint(SimilarService similar, GrpcMetrics metrics) {
        this.similar = similar;
        this.metrics = metrics;
    }

    void bind(Vertx vertx, GrpcServer server) {
        server.callHandler(SimilarGrpcService.GetSimilar, call -> UnaryCall.serve(vertx, call, metrics, this::getSimilar));
    }

    private Future<GetSimilarResponse> getSimilar(GetSimilarRequest req, UnaryCall<GetSimilarRequest, GetSimilarResponse> call) {
        float[] embedding = new float[req.getEmbeddingCount()];
        for (int i = 0; i < embedding.length; i++) {
            embedding[i] = req.getEmbedding(i);
        }
        long remaining = call.remainingNanos();
        long deadline = remaining == Long.MAX_VALUE ? Long.MAX_VALUE : similar.ticker().nanos() + remaining;
        CompletableFuture<SimilarService.Result> pending = similar.submit(
                new SimilarService.Query(req.getItemIdsList(), embedding, req.getK()), deadline);
        return Future.fromCompletionStage(pending, call.context()).map(result -> {
            GetSimilarResponse.Builder b = GetSimilarResponse.newBuilder().setIndexVersion(result.indexVersion());
            for (SimilarService.Neighbor n : result.neighbors()) {
                b.addNeighbors(GetSimilarResponse.Neighbor.newBuilder().setItemId(n.itemId()).setScore(n.score()));
            }
            return b.build();
        });
    }
}
