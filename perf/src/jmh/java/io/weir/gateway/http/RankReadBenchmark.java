package io.weir.gateway.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;
import io.weir.runtime.demo.DemoRepository;
import io.weir.runtime.features.FeatureContract;
import io.weir.runtime.repository.ModelRepository;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Reading a 50-candidate {@code /v1/rank:score} body into the demo ranker's feature rows, as the gateway's rank
 * handler does on its event loop: {@code stream} ({@link RankBodyReader}, the handler's path) against the named
 * baseline {@code tree}, its previous path and still its reference (Vert.x's JSON tree, {@link NativeApi#validateRank},
 * then {@link FeatureContract#encode}). 64 bodies of the shape the load generator sends (random users, items, prices
 * and categories), read in turn. Setup checks that both arms give the same rows and item ids for every body; run
 * with {@code -prof gc} for the bytes allocated a read. In package {@code io.weir.gateway.http} (the gateway's jar is
 * on this module's class path) because the reader is package-private.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx1g"})
public class RankReadBenchmark {
    @Param({"stream", "tree"})
    public String impl;

    private FeatureContract contract;
    private RankBodyReader reader;
    private final Buffer[] bodies = new Buffer[64];
    private int next;

    @Setup
    public void setUp() throws Exception {
        contract = ModelRepository.open(DemoRepository.materialize()).read(new ModelKey("ranker", "1.1.0"))
                .config().featureContract().orElseThrow();
        reader = new RankBodyReader(1000);
        Random random = new Random(1);
        for (int k = 0; k < bodies.length; k++) {
            StringBuilder b = new StringBuilder("{\"user_id\":\"user-" + random.nextInt(5000)
                    + "\",\"context\":{\"locale\":\"en-US\",\"ts\":\"2026-11-26T10:15:00Z\"},\"candidates\":[");
            for (int i = 0; i < 50; i++) {
                b.append(i > 0 ? "," : "").append("{\"item_id\":\"i-").append(random.nextInt(100000))
                        .append("\",\"features\":{\"price\":").append(random.nextInt(10000) / 100.0)
                        .append(",\"category\":\"cat-").append(random.nextInt(40)).append("\",\"ctr\":")
                        .append(random.nextFloat()).append("}}");
            }
            bodies[k] = Buffer.buffer(b.append("],\"request_id\":\"r-").append(k).append("\"}").toString());
            RankBodyReader.RankBody streamed = reader.read(bodies[k], contract);
            JsonObject tree = new JsonObject(bodies[k]);
            String[] ids = NativeApi.validateRank(tree, 1000);
            if (streamed == null || !Arrays.equals(streamed.itemIds(), ids)
                    || !Arrays.equals(streamed.features().floats(), contract.encode(tree).floats())) {
                throw new IllegalStateException("the arms read body " + k + " differently");
            }
        }
    }

    @Benchmark
    public Tensor read() {
        Buffer body = bodies[next++ & 63];
        if (impl.equals("stream")) {
            return reader.read(body, contract).features();
        }
        JsonObject tree = (JsonObject) body.toJsonValue();
        NativeApi.validateRank(tree, 1000);
        return contract.encode(tree);
    }
}
