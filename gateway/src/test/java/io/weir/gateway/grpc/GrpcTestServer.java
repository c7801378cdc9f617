package io.weir.gateway.grpc;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.weir.batcher.DirectDispatcher;
import io.weir.batcher.InferenceDispatcher;
import io.weir.gateway.ModelService;
import io.weir.gateway.config.WeirConfig;
import io.weir.gateway.http.HttpVerticle;
import io.weir.gateway.http.Routing;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Ticker;
import io.weir.runtime.demo.DemoRepository;
import io.weir.runtime.onnx.OnnxRuntimeBackend;
import io.weir.runtime.repository.ModelRepository;
import io.weir.runtime.embedding.DemoEmbeddings;
import io.weir.runtime.embedding.EmbeddingIndexFile;
import io.weir.runtime.embedding.EmbeddingIndexStore;
import io.weir.runtime.embedding.SimilarService;
import io.weir.runtime.embedding.VectorSearch;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The server's real parts, built as {@link io.weir.gateway.WeirServer} builds them (demo repository, ONNX Runtime
 * backend, registry, dispatcher, {@link ModelService}, one {@link HttpVerticle} on a loopback port) plus what this
 * package adds: the gRPC endpoints on the same port, the Similar service over a small generated index and its admin
 * route. Built here rather than through {@code WeirServer.start} until the server passes the gRPC function itself
 * (the two-line change in the issue report).
 */
final class GrpcTestServer implements AutoCloseable {
    static final int TEST_ITEMS = 5_000;
    static final int TEST_DIMENSIONS = 64;
    static final int TEST_CLUSTERS = 50;

    final Vertx vertx;
    final PrometheusMeterRegistry meters;
    final ModelRegistry registry;
    final InferenceDispatcher dispatcher;
    final ModelService models;
    final Path indexDir;
    final EmbeddingIndexStore store;
    final SimilarService similar;
    final int port;

    private GrpcTestServer(Vertx vertx, PrometheusMeterRegistry meters, ModelRegistry registry, InferenceDispatcher dispatcher,
                           ModelService models, Path indexDir, EmbeddingIndexStore store, SimilarService similar, int port) {
        this.vertx = vertx;
        this.meters = meters;
        this.registry = registry;
        this.dispatcher = dispatcher;
        this.models = models;
        this.indexDir = indexDir;
        this.store = store;
        this.similar = similar;
        this.port = port;
    }

    /** Starts everything with a small generated index (version 1.0.0, seed 42) in {@code indexDir}. */
    static GrpcTestServer start(Path indexDir) throws Exception {
        EmbeddingIndexFile.write(indexDir, demoIndex("1.0.0", 42));
        return startOn(indexDir, 2);
    }

    /** Starts everything on whatever index files {@code indexDir} holds, searching on {@code searchThreads}. */
    static GrpcTestServer startOn(Path indexDir, int searchThreads) throws Exception {
        PrometheusMeterRegistry meters = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Vertx vertx = Vertx.vertx();
        ModelRegistry registry = new ModelRegistry(ModelRepository.open(DemoRepository.materialize()), List.of(new OnnxRuntimeBackend(1)));
        registry.loadAll();
        InferenceDispatcher dispatcher = new DirectDispatcher(registry, Ticker.system(), 2, 1024);
        ModelService models = new ModelService(registry, dispatcher);
        EmbeddingIndexStore store = EmbeddingIndexStore.open(indexDir, Ticker.system(), VectorSearch.cpu(searchThreads));
        SimilarService similar = new SimilarService(store, Ticker.system(), SimilarService.Options.defaults()).start();
        SimilarAdmin.bindMetrics(meters, similar);
        Routing routing = (model, version, user, requestId, ctx) ->
                new Routing.Selection(models.resolve(model, version), version == null ? "primary" : "pinned", null);
        WeirConfig config = WeirConfig.from(new JsonObject().put("http.port", 0).put("http.host", "127.0.0.1"), Map.of());
        HttpVerticle verticle = new HttpVerticle(config, models, routing, meters, SimilarAdmin.routes(store),
                GrpcEndpoints.create(models, routing, similar, registry::ready, meters, GrpcEndpoints.DEFAULT_MAX_MESSAGE_BYTES));
        try {
            vertx.deployVerticle(verticle).toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            similar.close();
            store.close();
            vertx.close();
            dispatcher.close();
            registry.close();
            throw e;
        }
        return new GrpcTestServer(vertx, meters, registry, dispatcher, models, indexDir, store, similar, verticle.actualPort());
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

    /** What a call ended with: status, message, the response messages, and the trailers' retry hint. */
    record Outcome<R>(GrpcStatus status, String message, List<R> messages, String retryAfter) {
        R body() {
            if (status != GrpcStatus.OK || messages.size() != 1) {
                throw new AssertionError("expected one OK message, got " + status + " '" + message + "' with " + messages.size() + " messages");
            }
            return messages.getFirst();
        }
    }

    /** One unary call; {@code timeoutMicros > 0} sends a {@code grpc-timeout}. */
    static <Req, Resp> Future<Outcome<Resp>> call(GrpcClient client, SocketAddress address, ServiceMethod<Resp, Req> method,
                                                  Req message, long timeoutMicros) {
        return client.request(address, method).compose(req -> {
            if (timeoutMicros > 0) {
                req.timeout(timeoutMicros, TimeUnit.MICROSECONDS);
            }
            return send(req, message);
        });
    }

    private static <Req, Resp> Future<Outcome<Resp>> send(GrpcClientRequest<Req, Resp> req, Req message) {
        req.end(message);
        return req.response().compose(resp -> {
            Promise<Outcome<Resp>> done = Promise.promise();
            List<Resp> messages = new ArrayList<>();
            resp.handler(messages::add);
            resp.exceptionHandler(done::tryFail);
            resp.endHandler(v -> done.tryComplete(new Outcome<>(resp.status(), resp.statusMessage(), messages,
                    resp.trailers().get(GrpcErrors.RETRY_AFTER))));
            return done.future();
        });
    }

    @Override
    public void close() {
        vertx.close().toCompletionStage().toCompletableFuture().join();
        similar.close();
        store.close();
        dispatcher.close();
        registry.close();
        meters.close();
    }
}
