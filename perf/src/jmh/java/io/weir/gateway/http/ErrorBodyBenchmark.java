package io.weir.gateway.http;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;
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

import java.util.concurrent.TimeUnit;

/**
 * Encoding a 429's body, the answer overload sends most: {@code direct} ({@link HttpErrors#body}, the error path's
 * encoder, straight to bytes) against the named baseline {@code tree} (the two {@code JsonObject}s and
 * {@code toBuffer} the error path used before). Setup checks that both give the same bytes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Xmx1g"})
public class ErrorBodyBenchmark {
    @Param({"direct", "tree"})
    public String impl;

    private final WeirException shed = WeirException.exhausted("the gateway is overloaded (event loop 31 ms behind); retry later", 1);
    private final String requestId = "0f1980e0-cc27-4994-abff-3c623dee8ae5";

    @Setup
    public void setUp() {
        if (!direct().toString().equals(tree().toString())) {
            throw new IllegalStateException("the arms differ: " + direct() + " against " + tree());
        }
    }

    @Benchmark
    public Buffer encode() {
        return impl.equals("direct") ? direct() : tree();
    }

    private Buffer direct() {
        return HttpErrors.body(shed, requestId);
    }

    private Buffer tree() {
        return new JsonObject()
                .put("error", new JsonObject().put("code", ErrorCode.RESOURCE_EXHAUSTED.name()).put("message", shed.getMessage()))
                .put("request_id", requestId).toBuffer();
    }
}
