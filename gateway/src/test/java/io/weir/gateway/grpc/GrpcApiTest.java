package io.weir.gateway.grpc;

import com.google.protobuf.ByteString;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.client.WebClient;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import io.weir.gateway.grpc.proto.health.HealthCheckRequest;
import io.weir.gateway.grpc.proto.health.HealthCheckResponse;
import io.weir.gateway.grpc.proto.health.HealthGrpcClient;
import io.weir.gateway.grpc.proto.inference.GRPCInferenceServiceGrpcClient;
import io.weir.gateway.grpc.proto.inference.InferTensorContents;
import io.weir.gateway.grpc.proto.inference.ModelInferRequest;
import io.weir.gateway.grpc.proto.inference.ModelInferResponse;
import io.weir.gateway.grpc.proto.inference.ModelMetadataRequest;
import io.weir.gateway.grpc.proto.inference.ModelMetadataResponse;
import io.weir.gateway.grpc.proto.inference.ModelReadyRequest;
import io.weir.gateway.grpc.proto.inference.ServerLiveRequest;
import io.weir.gateway.grpc.proto.inference.ServerMetadataRequest;
import io.weir.gateway.grpc.proto.inference.ServerReadyRequest;
import io.weir.gateway.grpc.proto.similar.GetSimilarRequest;
import io.weir.gateway.grpc.proto.similar.GetSimilarResponse;
import io.weir.gateway.grpc.proto.similar.SimilarGrpcClient;
import io.weir.runtime.embedding.EmbeddingIndexFile;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static io.weir.gateway.grpc.GrpcTestServer.call;
import static org.assertj.core.api.Assertions.assertThat;

/** Every gRPC method over real h2c against a real server on the demo repository, bad inputs and deadlines included. */
@ExtendWith(VertxExtension.class)
class GrpcApiTest {
    @TempDir
    static Path indexDir;
    private static GrpcTestServer server;
    private GrpcClient client;
    private SocketAddress address;

    @BeforeAll
    static void startServer() throws Exception {
        server = GrpcTestServer.start(indexDir);
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @BeforeEach
    void client(Vertx vertx) {
        client = GrpcTestServer.client(vertx);
        address = server.address();
    }

    @Test
    void serverLiveReadyAndMetadata(VertxTestContext tc) {
        Future.all(
                call(client, address, GRPCInferenceServiceGrpcClient.ServerLive, ServerLiveRequest.getDefaultInstance(), 0),
                call(client, address, GRPCInferenceServiceGrpcClient.ServerReady, ServerReadyRequest.getDefaultInstance(), 0),
                call(client, address, GRPCInferenceServiceGrpcClient.ServerMetadata, ServerMetadataRequest.getDefaultInstance(), 0)
        ).onComplete(tc.succeeding(all -> tc.verify(() -> {
            GrpcTestServer.Outcome<io.weir.gateway.grpc.proto.inference.ServerLiveResponse> live = all.resultAt(0);
            GrpcTestServer.Outcome<io.weir.gateway.grpc.proto.inference.ServerReadyResponse> ready = all.resultAt(1);
            GrpcTestServer.Outcome<io.weir.gateway.grpc.proto.inference.ServerMetadataResponse> meta = all.resultAt(2);
            assertThat(live.body().getLive()).isTrue();
            assertThat(ready.body().getReady()).isTrue();
            assertThat(meta.body().getName()).isEqualTo("weir");
            assertThat(meta.body().getExtensionsList()).contains("model_repository");
            tc.completeNow();
        })));
    }

    @Test
    void modelReadyAnswersReadyAndNotFoundForUnknownModelsAndVersions(VertxTestContext tc) {
        Future.all(
                call(client, address, GRPCInferenceServiceGrpcClient.ModelReady, ModelReadyRequest.newBuilder().setName("echo").build(), 0),
                call(client, address, GRPCInferenceServiceGrpcClient.ModelReady, ModelReadyRequest.newBuilder().setName("nope").build(), 0),
                call(client, address, GRPCInferenceServiceGrpcClient.ModelReady, ModelReadyRequest.newBuilder().setName("echo").setVersion("9.9.9").build(), 0),
                call(client, address, GRPCInferenceServiceGrpcClient.ModelReady, ModelReadyRequest.getDefaultInstance(), 0)
        ).onComplete(tc.succeeding(all -> tc.verify(() -> {
            GrpcTestServer.Outcome<io.weir.gateway.grpc.proto.inference.ModelReadyResponse> echo = all.resultAt(0);
            assertThat(echo.body().getReady()).isTrue();
            assertThat(((GrpcTestServer.Outcome<?>) all.resultAt(1)).status()).isEqualTo(GrpcStatus.NOT_FOUND);
            assertThat(((GrpcTestServer.Outcome<?>) all.resultAt(1)).message()).contains("unknown model 'nope'");
            assertThat(((GrpcTestServer.Outcome<?>) all.resultAt(2)).status()).isEqualTo(GrpcStatus.NOT_FOUND);
            assertThat(((GrpcTestServer.Outcome<?>) all.resultAt(3)).status()).isEqualTo(GrpcStatus.INVALID_ARGUMENT);
            tc.completeNow();
        })));
    }

    @Test
    void modelMetadataDescribesTheDeclaredTensors(VertxTestContext tc) {
        call(client, address, GRPCInferenceServiceGrpcClient.ModelMetadata, ModelMetadataRequest.newBuilder().setName("echo").build(), 0)
                .onComplete(tc.succeeding(o -> tc.verify(() -> {
                    ModelMetadataResponse m = o.body();
                    assertThat(m.getName()).isEqualTo("echo");
                    assertThat(m.getVersionsList()).isNotEmpty();
                    assertThat(m.getPlatform()).isEqualTo("onnxruntime_onnx");
                    assertThat(m.getInputsList()).extracting(ModelMetadataResponse.TensorMetadata::getName).containsExactly("x", "ids", "text");
                    assertThat(m.getInputs(0).getDatatype()).isEqualTo("FP32");
                    assertThat(m.getInputs(0).getShapeList()).containsExactly(-1L, 16L);
                    assertThat(m.getOutputsList()).extracting(ModelMetadataResponse.TensorMetadata::getName).containsExactly("x_out", "ids_out", "text_out");
                    tc.completeNow();
                })));
    }

    @Test
    void modelMetadataOfAnUnknownModelIsNotFound(VertxTestContext tc) {
        call(client, address, GRPCInferenceServiceGrpcClient.ModelMetadata, ModelMetadataRequest.newBuilder().setName("ghost").build(), 0)
                .onComplete(tc.succeeding(o -> tc.verify(() -> {
                    assertThat(o.status()).isEqualTo(GrpcStatus.NOT_FOUND);
                    tc.completeNow();
                })));
    }

    static ModelInferRequest echoRequest(int rows) {
        ModelInferRequest.Builder b = ModelInferRequest.newBuilder().setModelName("echo").setId("req-7");
        InferTensorContents.Builder x = InferTensorContents.newBuilder();
        InferTensorContents.Builder ids = InferTensorContents.newBuilder();
        InferTensorContents.Builder text = InferTensorContents.newBuilder();
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < 16; i++) {
                x.addFp32Contents(r * 100 + i * 0.25f);
            }
            for (int i = 0; i < 4; i++) {
                ids.addInt64Contents(1L << 40 | (r * 10L + i));
            }
            text.addBytesContents(ByteString.copyFromUtf8("row " + r + " \u00e9"));
        }
        b.addInputs(input("x", "FP32", rows, 16).setContents(x));
        b.addInputs(input("ids", "INT64", rows, 4).setContents(ids));
        b.addInputs(input("text", "BYTES", rows, 1).setContents(text));
        return b.build();
    }

    static ModelInferRequest.InferInputTensor.Builder input(String name, String type, long rows, long width) {
        return ModelInferRequest.InferInputTensor.newBuilder().setName(name).setDatatype(type).addShape(rows).addShape(width);
    }

    @Test
    void modelInferWithTypedContentsEchoesEveryTensorThroughTheDispatcher(VertxTestContext tc) {
        ModelInferRequest req = echoRequest(3);
        call(client, address, GRPCInferenceServiceGrpcClient.ModelInfer, req, 0).onComplete(tc.succeeding(o -> tc.verify(() -> {
            ModelInferResponse r = o.body();
            assertThat(r.getModelName()).isEqualTo("echo");
            assertThat(r.getModelVersion()).isEqualTo(server.registry.latestReady("echo").orElseThrow());
            assertThat(r.getId()).isEqualTo("req-7");
            assertThat(r.getParametersMap().get("arm").getStringParam()).isEqualTo("primary");
            assertThat(r.getParametersMap().get("backend").getStringParam()).isNotEmpty();
            assertThat(r.getOutputsList()).extracting(ModelInferResponse.InferOutputTensor::getName).containsExactly("x_out", "ids_out", "text_out");
            assertThat(r.getOutputs(0).getShapeList()).containsExactly(3L, 16L);
            assertThat(r.getOutputs(0).getContents().getFp32ContentsList()).isEqualTo(req.getInputs(0).getContents().getFp32ContentsList());
            assertThat(r.getOutputs(1).getContents().getInt64ContentsList()).isEqualTo(req.getInputs(1).getContents().getInt64ContentsList());
            assertThat(r.getOutputs(2).getContents().getBytesContentsList()).isEqualTo(req.getInputs(2).getContents().getBytesContentsList());
            assertThat(r.getRawOutputContentsCount()).isZero();
            tc.completeNow();
        })));
    }

    /** The request's id is echoed as x-request-id only if a header may carry it (as on HTTP); else one is generated. */
    @Test
    void anInferIdIsEchoedAsTheRequestIdHeaderOnlyIfAHeaderMayCarryIt(VertxTestContext tc) {
        Future.all(
                call(client, address, GRPCInferenceServiceGrpcClient.ModelInfer, echoRequest(1).toBuilder().setId("a\nb").build(), 0),
                call(client, address, GRPCInferenceServiceGrpcClient.ModelInfer, echoRequest(1).toBuilder().setId("r".repeat(129)).build(), 0)
        ).onComplete(tc.succeeding(all -> tc.verify(() -> {
            for (int i = 0; i < 2; i++) {
                GrpcTestServer.Outcome<ModelInferResponse> o = all.resultAt(i);
                assertThat(o.status()).as(o.message()).isEqualTo(GrpcStatus.OK);
                assertThat(o.headers().get("x-request-id")).matches("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
            }
            assertThat(((GrpcTestServer.Outcome<ModelInferResponse>) all.resultAt(0)).body().getId()).isEqualTo("a\nb");
            tc.completeNow();
        })));
    }

    @Test
    void modelInferWithRawContentsAnswersRawAndHonoursRequestedOutputs(VertxTestContext tc) {
        ByteBuffer x = ByteBuffer.allocate(2 * 16 * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 32; i++) {
            x.putFloat(i * 1.5f - 7);
        }
        ByteBuffer ids = ByteBuffer.allocate(2 * 4 * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 8; i++) {
            ids.putLong(-i * 1_000_000_007L);
        }
        byte[] a = "alpha".getBytes(StandardCharsets.UTF_8);
        // Valid UTF-8: ONNX Runtime's Java API carries string tensors as Strings, so arbitrary bytes would not round-trip.
        byte[] b = "\u03b2 \u00fc".getBytes(StandardCharsets.UTF_8);
        ByteBuffer text = ByteBuffer.allocate(8 + a.length + b.length).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(a.length).put(a).putInt(b.length).put(b);
        ModelInferRequest req = ModelInferRequest.newBuilder().setModelName("echo")
                .addInputs(input("x", "FP32", 2, 16)).addInputs(input("ids", "INT64", 2, 4)).addInputs(input("text", "BYTES", 2, 1))
                .addRawInputContents(ByteString.copyFrom(x.array())).addRawInputContents(ByteString.copyFrom(ids.array()))
                .addRawInputContents(ByteString.copyFrom(text.array()))
                .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("text_out"))
                .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("x_out"))
                .build();
        call(client, address, GRPCInferenceServiceGrpcClient.ModelInfer, req, 0).onComplete(tc.succeeding(o -> tc.verify(() -> {
            ModelInferResponse r = o.body();
            assertThat(r.getOutputsList()).extracting(ModelInferResponse.InferOutputTensor::getName).containsExactly("text_out", "x_out");
            assertThat(r.getOutputs(0).hasContents()).isFalse();
            assertThat(r.getRawOutputContentsList()).containsExactly(ByteString.copyFrom(text.array()), ByteString.copyFrom(x.array()));
            tc.completeNow();
        })));
    }

    @Test
    void badInferRequestsGetTheErrorTablesStatus(VertxTestContext tc) {
        ModelInferRequest good = echoRequest(2);
        Map<String, UnaryOperator<ModelInferRequest.Builder>> invalid = Map.of(
                "wrong datatype", b -> b.setInputs(1, b.getInputs(1).toBuilder().setDatatype("FP32")),
                "wrong width", b -> b.setInputs(0, b.getInputs(0).toBuilder().setShape(1, 8)),
                "missing input", b -> b.removeInputs(2),
                "value count", b -> b.setInputs(0, b.getInputs(0).toBuilder().setContents(InferTensorContents.newBuilder().addFp32Contents(1))),
                "wrong contents field", b -> b.setInputs(1, b.getInputs(1).toBuilder().setContents(
                        InferTensorContents.newBuilder().addAllIntContents(List.of(1, 2, 3, 4, 5, 6, 7, 8)))),
                "non-finite", b -> b.setInputs(0, b.getInputs(0).toBuilder().setContents(
                        b.getInputs(0).getContents().toBuilder().setFp32Contents(5, Float.NaN))),
                "raw count", b -> b.addRawInputContents(ByteString.copyFrom(new byte[8])),
                "batch sizes differ", b -> b.setInputs(2, b.getInputs(2).toBuilder().setShape(0, 1)),
                "unknown output", b -> b.addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("y")),
                "no model", b -> b.setModelName(""));
        List<String> names = new ArrayList<>(invalid.keySet());
        List<Future<GrpcTestServer.Outcome<ModelInferResponse>>> calls = new ArrayList<>();
        for (String name : names) {
            calls.add(call(client, address, GRPCInferenceServiceGrpcClient.ModelInfer, invalid.get(name).apply(good.toBuilder()).build(), 0));
        }
        Future<GrpcTestServer.Outcome<ModelInferResponse>> unknownModel =
                call(client, address, GRPCInferenceServiceGrpcClient.ModelInfer, good.toBuilder().setModelName("ghost").build(), 0);
        Future<GrpcTestServer.Outcome<ModelInferResponse>> unknownVersion =
                call(client, address, GRPCInferenceServiceGrpcClient.ModelInfer, good.toBuilder().setModelVersion("7.7.7").build(), 0);
        Future<GrpcTestServer.Outcome<ModelInferResponse>> hugeBatch = call(client, address, GRPCInferenceServiceGrpcClient.ModelInfer,
                good.toBuilder().setInputs(0, good.getInputs(0).toBuilder().setShape(0, Long.MAX_VALUE)).build(), 0);
        List<Future<?>> all = new ArrayList<>(calls);
        all.add(unknownModel);
        all.add(unknownVersion);
        all.add(hugeBatch);
        Future.all(all).onComplete(tc.succeeding(v -> tc.verify(() -> {
            for (int i = 0; i < names.size(); i++) {
                assertThat(calls.get(i).result().status()).as(names.get(i) + ": " + calls.get(i).result().message())
                        .isEqualTo(GrpcStatus.INVALID_ARGUMENT);
            }
            assertThat(unknownModel.result().status()).isEqualTo(GrpcStatus.NOT_FOUND);
            assertThat(unknownVersion.result().status()).isEqualTo(GrpcStatus.NOT_FOUND);
            assertThat(hugeBatch.result().status()).as(hugeBatch.result().message()).isEqualTo(GrpcStatus.INVALID_ARGUMENT);
            assertThat(hugeBatch.result().message()).startsWith("input 'x' is too large");
            tc.completeNow();
        })));
    }

    @Test
    void aTinyGrpcTimeoutIsDeadlineExceededOnEveryRoute(VertxTestContext tc) {
        Future.all(
                call(client, address, GRPCInferenceServiceGrpcClient.ModelInfer, echoRequest(1), 1),
                call(client, address, SimilarGrpcClient.GetSimilar, GetSimilarRequest.newBuilder().addItemIds("item-00001").setK(5).build(), 1)
        ).onComplete(tc.succeeding(all -> tc.verify(() -> {
            for (int i = 0; i < 2; i++) {
                GrpcTestServer.Outcome<?> o = all.resultAt(i);
                assertThat(o.status()).as(o.message()).isEqualTo(GrpcStatus.DEADLINE_EXCEEDED);
            }
            tc.completeNow();
        })));
    }

    @Test
    void aGenerousGrpcTimeoutStillSucceeds(VertxTestContext tc) {
        Future.all(
                call(client, address, GRPCInferenceServiceGrpcClient.ModelInfer, echoRequest(1), 10_000_000),
                call(client, address, SimilarGrpcClient.GetSimilar, GetSimilarRequest.newBuilder().addItemIds("item-00001").setK(5).build(), 10_000_000)
        ).onComplete(tc.succeeding(all -> tc.verify(() -> {
            assertThat(((GrpcTestServer.Outcome<?>) all.resultAt(0)).status()).isEqualTo(GrpcStatus.OK);
            assertThat(((GrpcTestServer.Outcome<?>) all.resultAt(1)).status()).isEqualTo(GrpcStatus.OK);
            tc.completeNow();
        })));
    }

    /** The longest grpc-timeout there is (8 digits of hours) is longer than any budget: the budget applies. */
    @Test
    void theLongestGrpcTimeoutMeansTheBudget(VertxTestContext tc) {
        Future.all(
                withGrpcTimeout(GRPCInferenceServiceGrpcClient.ModelInfer, echoRequest(1), "99999999H"),
                withGrpcTimeout(SimilarGrpcClient.GetSimilar, GetSimilarRequest.newBuilder().addItemIds("item-00001").setK(5).build(), "99999999H")
        ).onComplete(tc.succeeding(all -> tc.verify(() -> {
            for (int i = 0; i < 2; i++) {
                GrpcTestServer.Outcome<?> o = all.resultAt(i);
                assertThat(o.status()).as(o.message()).isEqualTo(GrpcStatus.OK);
            }
            tc.completeNow();
        })));
    }

    /** A call with the {@code grpc-timeout} header as given (the client would re-encode a timeout in its own units). */
    private <Req, Resp> Future<GrpcTestServer.Outcome<Resp>> withGrpcTimeout(ServiceMethod<Resp, Req> method, Req message, String timeout) {
        return client.request(address, method).compose(req -> {
            req.headers().set(GrpcDeadline.HEADER, timeout);
            return GrpcTestServer.send(req, message);
        });
    }

    /** A unary call half-closed with no message is answered at once, not left open (no grpc-timeout to end it). */
    @Test
    void aUnaryCallWithoutARequestMessageIsInvalidArgument(VertxTestContext tc) {
        client.request(address, GRPCInferenceServiceGrpcClient.ModelInfer).compose(req -> {
            req.end();
            return GrpcTestServer.<ModelInferRequest, ModelInferResponse>outcome(req);
        }).timeout(10, TimeUnit.SECONDS).onComplete(tc.succeeding(o -> tc.verify(() -> {
            assertThat(o.status()).isEqualTo(GrpcStatus.INVALID_ARGUMENT);
            assertThat(o.message()).contains("missing request message");
            tc.completeNow();
        })));
    }

    @Test
    void getSimilarByItemsAndByEmbedding(VertxTestContext tc) {
        GetSimilarRequest.Builder byVector = GetSimilarRequest.newBuilder().setK(4);
        try (var lease = server.store.acquire().orElseThrow()) {
            for (float f : lease.index().vector(123)) {
                byVector.addEmbedding(f * 2);
            }
        }
        Future.all(
                call(client, address, SimilarGrpcClient.GetSimilar, GetSimilarRequest.newBuilder().addItemIds("item-00010").setK(8).build(), 0),
                call(client, address, SimilarGrpcClient.GetSimilar, byVector.build(), 0)
        ).onComplete(tc.succeeding(all -> tc.verify(() -> {
            GrpcTestServer.Outcome<GetSimilarResponse> items = all.resultAt(0);
            GetSimilarResponse r = items.body();
            assertThat(r.getIndexVersion()).isEqualTo(server.store.version().orElseThrow());
            assertThat(r.getNeighborsList()).hasSize(8).extracting(GetSimilarResponse.Neighbor::getItemId).doesNotContain("item-00010");
            for (int i = 1; i < 8; i++) {
                assertThat(r.getNeighbors(i).getScore()).isLessThanOrEqualTo(r.getNeighbors(i - 1).getScore());
            }
            GrpcTestServer.Outcome<GetSimilarResponse> vector = all.resultAt(1);
            assertThat(vector.body().getNeighbors(0).getItemId()).isEqualTo("item-00123");
            assertThat(vector.body().getNeighbors(0).getScore()).isGreaterThan(0.9999f);
            tc.completeNow();
        })));
    }

    @Test
    void badGetSimilarRequestsGetTheErrorTablesStatus(VertxTestContext tc) {
        List<GetSimilarRequest> invalid = List.of(
                GetSimilarRequest.newBuilder().setK(5).build(),
                GetSimilarRequest.newBuilder().addItemIds("item-00001").setK(0).build(),
                GetSimilarRequest.newBuilder().addItemIds("item-00001").setK(100_000).build(),
                GetSimilarRequest.newBuilder().addItemIds("item-00001").addEmbedding(1).setK(3).build(),
                GetSimilarRequest.newBuilder().addAllEmbedding(List.of(1f, 2f, 3f)).setK(3).build(),
                GetSimilarRequest.newBuilder().addEmbedding(Float.POSITIVE_INFINITY).setK(3).build());
        List<Future<GrpcTestServer.Outcome<GetSimilarResponse>>> calls = new ArrayList<>();
        for (GetSimilarRequest r : invalid) {
            calls.add(call(client, address, SimilarGrpcClient.GetSimilar, r, 0));
        }
        Future<GrpcTestServer.Outcome<GetSimilarResponse>> unknown =
                call(client, address, SimilarGrpcClient.GetSimilar, GetSimilarRequest.newBuilder().addItemIds("no-such-item").setK(3).build(), 0);
        List<Future<?>> all = new ArrayList<>(calls);
        all.add(unknown);
        Future.all(all).onComplete(tc.succeeding(v -> tc.verify(() -> {
            for (int i = 0; i < invalid.size(); i++) {
                assertThat(calls.get(i).result().status()).as("%d: %s", i, calls.get(i).result().message()).isEqualTo(GrpcStatus.INVALID_ARGUMENT);
            }
            assertThat(unknown.result().status()).isEqualTo(GrpcStatus.NOT_FOUND);
            assertThat(unknown.result().message()).contains("no-such-item");
            tc.completeNow();
        })));
    }

    @Test
    void healthCheckAndWatchReportServing(VertxTestContext tc) {
        Future.all(
                call(client, address, HealthGrpcClient.Check, HealthCheckRequest.getDefaultInstance(), 0),
                call(client, address, HealthGrpcClient.Check, HealthCheckRequest.newBuilder().setService("inference.GRPCInferenceService").build(), 0),
                call(client, address, HealthGrpcClient.Check, HealthCheckRequest.newBuilder().setService("weir.similar.v1.Similar").build(), 0),
                call(client, address, HealthGrpcClient.Check, HealthCheckRequest.newBuilder().setService("no.such.Service").build(), 0)
        ).onComplete(tc.succeeding(all -> tc.verify(() -> {
            for (int i = 0; i < 3; i++) {
                GrpcTestServer.Outcome<HealthCheckResponse> o = all.resultAt(i);
                assertThat(o.body().getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
            }
            assertThat(((GrpcTestServer.Outcome<?>) all.resultAt(3)).status()).isEqualTo(GrpcStatus.NOT_FOUND);
        }))).compose(v -> client.request(address, HealthGrpcClient.Watch)).onComplete(tc.succeeding(req -> {
            req.end(HealthCheckRequest.getDefaultInstance());
            req.response().onComplete(tc.succeeding(resp -> resp.handler(first -> tc.verify(() -> {
                assertThat(first.getStatus()).isEqualTo(HealthCheckResponse.ServingStatus.SERVING);
                req.cancel();
                tc.completeNow();
            }))));
        }));
    }

    @Test
    void anUnknownMethodIsUnimplemented(VertxTestContext tc) {
        ServiceMethod<ServerLiveRequest, ServerLiveRequest> bogus = ServiceMethod.client(ServiceName.create("inference", "GRPCInferenceService"),
                "RepositoryIndex", GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(ServerLiveRequest.newBuilder()));
        call(client, address, bogus, ServerLiveRequest.getDefaultInstance(), 0).onComplete(tc.succeeding(o -> tc.verify(() -> {
            assertThat(o.status()).isEqualTo(GrpcStatus.UNIMPLEMENTED);
            tc.completeNow();
        })));
    }

    @Test
    void adminRefreshSwapsInANewFileAndTheAgeMetricIsExported(Vertx vertx, VertxTestContext tc) throws Exception {
        WebClient web = WebClient.create(vertx);
        web.request(HttpMethod.POST, server.port, "127.0.0.1", SimilarAdmin.REFRESH_PATH).send()
                .compose(unchanged -> {
                    tc.verify(() -> {
                        assertThat(unchanged.statusCode()).isEqualTo(200);
                        assertThat(unchanged.bodyAsJsonObject().getBoolean("swapped")).isFalse();
                    });
                    return vertx.executeBlocking(() -> EmbeddingIndexFile.write(indexDir, GrpcTestServer.demoIndex("1.0.5", 43)));
                })
                .compose(file -> web.request(HttpMethod.POST, server.port, "127.0.0.1", SimilarAdmin.REFRESH_PATH).send())
                .compose(swapped -> {
                    tc.verify(() -> {
                        JsonObject body = swapped.bodyAsJsonObject();
                        assertThat(body.getBoolean("swapped")).isTrue();
                        assertThat(body.getString("version")).isEqualTo("1.0.5");
                    });
                    return call(client, address, SimilarGrpcClient.GetSimilar, GetSimilarRequest.newBuilder().addItemIds("item-00001").setK(2).build(), 0);
                })
                .compose(similar -> {
                    tc.verify(() -> assertThat(similar.body().getIndexVersion()).isEqualTo("1.0.5"));
                    return web.request(HttpMethod.GET, server.port, "127.0.0.1", "/metrics").send();
                })
                .onComplete(tc.succeeding(metrics -> tc.verify(() -> {
                    String text = metrics.bodyAsString();
                    assertThat(text).contains("weir_similar_index_age_seconds").contains("weir_similar_index_swaps_total")
                            .contains("weir_grpc_requests_seconds_count{code=\"OK\",method=\"weir.similar.v1.Similar/GetSimilar\"}");
                    tc.completeNow();
                })));
    }
}
