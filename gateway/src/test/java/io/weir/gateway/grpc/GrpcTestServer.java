package io.weir.gateway.grpc;

import io.netty.handler.codec.http.QueryStringDecoder;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.weir.gateway.WeirServer;
import io.weir.gateway.config.WeirConfig;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.embedding.DemoEmbeddings;
import io.weir.runtime.embedding.EmbeddingIndexFile;
import io.weir.runtime.embedding.EmbeddingIndexStore;
import io.weir.runtime.embedding.SimilarService;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A real {@link WeirServer} (demo repository, batching dispatcher, rollout routing, gRPC on the HTTP port, the Similar
 * service and its admin route) over a small generated embedding index, plus a gRPC client helper.
 */
final class GrpcTestServer implements AutoCloseable {
    static final int TEST_ITEMS = 5_000;
    static final int TEST_DIMENSIONS = 64;
    static final int TEST_CLUSTERS = 50;

    final WeirServer server;
    final Vertx vertx;
    final ModelRegistry registry;
    final EmbeddingIndexStore store;
    final SimilarService similar;
    final int port;

    private GrpcTestServer(WeirServer server) {
        this.server = server;
        this.vertx = server.vertx();
        this.registry = server.registry();
        this.store = server.embeddings();
        this.similar = server.similar();
        this.port = server.port();
    }

    /** Starts everything with a small generated index (version 1.0.0, seed 42) in {@code indexDir}. */
    static GrpcTestServer start(Path indexDir) throws Exception {
        EmbeddingIndexFile.write(indexDir, demoIndex("1.0.0", 42));
        return startOn(indexDir, 2);
    }

    /** Starts a real {@link WeirServer} on whatever index files {@code indexDir} holds, searching on {@code searchThreads}. */
    static GrpcTestServer startOn(Path indexDir, int searchThreads) throws Exception {
        JsonObject json = new JsonObject().put("http.port", 0).put("http.host", "127.0.0.1").put("model.repository", "demo")
                .put("cpu.threads", searchThreads).put("embedding.index.dir", indexDir.toString())
                .put("embedding.index.refresh.seconds", 0)
                .put("audit.log", Files.createTempFile("weir-grpc-audit", ".jsonl").toString());
        WeirServer server = WeirServer.start(WeirConfig.from(json, Map.of())).toCompletionStage().toCompletableFuture()
                .get(60, TimeUnit.SECONDS);
        server.awaitLoaded(120_000);
        return new GrpcTestServer(server);
    }

    static io.weir.runtime.embedding.EmbeddingIndex demoIndex(String version, long seed) {
        return DemoEmbeddings.generate(version, seed, TEST_ITEMS, TEST_DIMENSIONS, TEST_CLUSTERS, System.currentTimeMillis()).index();
    }

    SocketAddress address() {
        return SocketAddress.inetSocketAddress(port, "127.0.0.1");
    }

    /** A gRPC client over h2c (prior knowledge) that leaves deadlines to the server. */
    static GrpcClient client(Vertx vertx) {
        return GrpcClient.client(vertx, new GrpcClientOptions().setScheduleDeadlineAutomatically(false),
                new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
    }

    /** What a call ended with: status, message, the response messages, the trailers' retry hint, and the headers. */
    record Outcome<R>(GrpcStatus status, String message, List<R> messages, String retryAfter, MultiMap headers) {
        R body() {
            if (status != GrpcStatus.OK || messages.size() != 1) {
                throw new AssertionError("expected one OK message, got " + status + " '" + message + "' with " + messages.size() + " messages");
            }
            return messages.getFirst();
        }
    }

    /**
     * One unary call; {@code timeoutMicros > 0} sends a {@code grpc-timeout}. Without one, a DEADLINE_EXCEEDED or
     * RESOURCE_EXHAUSTED answer is retried (up to 5 times): the server enforces each model's own budget (echo: 50 ms),
     * which a starved CI machine can miss, and that correct answer is not what these tests examine.
     */
    static <Req, Resp> Future<Outcome<Resp>> call(GrpcClient client, SocketAddress address, ServiceMethod<Resp, Req> method,
                                                  Req message, long timeoutMicros) {
        return call(client, address, method, message, timeoutMicros, 5);
    }

    private static <Req, Resp> Future<Outcome<Resp>> call(GrpcClient client, SocketAddress address,
                                                          ServiceMethod<Resp, Req> method, Req message,
                                                          long timeoutMicros, int retries) {
        return client.request(address, method).compose(req -> {
            if (timeoutMicros > 0) {
                req.timeout(timeoutMicros, TimeUnit.MICROSECONDS);
            }
            return send(req, message);
        }).compose(o -> timeoutMicros == 0 && retries > 0
                && (o.status() == GrpcStatus.DEADLINE_EXCEEDED || o.status() == GrpcStatus.RESOURCE_EXHAUSTED)
                ? call(client, address, method, message, timeoutMicros, retries - 1)
                : Future.succeededFuture(o));
    }

    static <Req, Resp> Future<Outcome<Resp>> send(GrpcClientRequest<Req, Resp> req, Req message) {
        req.end(message);
        return outcome(req);
    }

    /** What a request already sent ends with. */
    static <Req, Resp> Future<Outcome<Resp>> outcome(GrpcClientRequest<Req, Resp> req) {
        return req.response().compose(resp -> {
            Promise<Outcome<Resp>> done = Promise.promise();
            List<Resp> messages = new ArrayList<>();
            resp.handler(messages::add);
            resp.exceptionHandler(done::tryFail);
            resp.endHandler(v -> done.tryComplete(new Outcome<>(resp.status(), statusMessage(resp), messages,
                    resp.trailers().get(GrpcErrors.RETRY_AFTER), resp.headers())));
            return done.future();
        });
    }

    /** Vert.x's client reads grpc-message from the headers only: a status after messages has it in the trailers. */
    private static String statusMessage(GrpcClientResponse<?, ?> resp) {
        String trailer = resp.trailers().get("grpc-message");
        return resp.statusMessage() != null || trailer == null ? resp.statusMessage()
                : QueryStringDecoder.decodeComponent(trailer, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        server.close();
    }
}
