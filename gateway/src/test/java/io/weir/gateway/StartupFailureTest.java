package io.weir.gateway;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An invalid rollout file at start-up keeps the server alive (liveness) but never ready: serving without the
 * operator's rollout would send traffic where they did not ask. The reason is on the admin API. A start that fails
 * outright closes what it had started.
 */
@ExtendWith(VertxExtension.class)
class StartupFailureTest {
    @TempDir
    static Path dir;
    private static WeirServer server;

    @BeforeAll
    static void startServer() throws Exception {
        Path rollouts = dir.resolve("rollouts.json");
        Files.writeString(rollouts, "{\"models\": {\"ranker\": {\"primary\": \"1.0.0\", \"canary\": \"7.7.7\", \"canary_weight\": 10}}}");
        server = TestServers.start(null, Map.of("rollout.file", rollouts.toString(), "audit.log", dir.resolve("audit.jsonl").toString()));
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Test
    void invalidRolloutFileLeavesTheServerLiveButNotReady(Vertx vertx, VertxTestContext tc) {
        WebClient client = WebClient.create(vertx, new WebClientOptions().setDefaultHost("127.0.0.1").setDefaultPort(server.port()));
        awaitStartupVerdict(vertx, 100)
                .compose(v -> Future.all(client.get("/v2/health/live").send(), client.get("/v2/health/ready").send(),
                        client.get("/admin/models").send()))
                .onComplete(tc.succeeding(all -> tc.verify(() -> {
                    HttpResponse<Buffer> live = all.resultAt(0);
                    HttpResponse<Buffer> ready = all.resultAt(1);
                    HttpResponse<Buffer> admin = all.resultAt(2);
                    assertThat(live.statusCode()).isEqualTo(200);
                    assertThat(ready.statusCode()).isEqualTo(503);
                    assertThat(admin.bodyAsJsonObject().getBoolean("ready")).isFalse();
                    assertThat(admin.bodyAsJsonObject().getString("startup_failure")).contains("rollouts did not start").contains("7.7.7");
                    tc.completeNow();
                })));
    }

    /**
     * Readiness waits for the rollout file, not only the models: at each model's load (the last one's included, when
     * the registry alone turns ready) the server is not ready, since the file is read only after loading.
     */
    @Test
    void theServerIsNotReadyBetweenTheModelsLoadingAndTheRolloutFileBeingRejected() throws Exception {
        Path rollouts = dir.resolve("rollouts-too.json");
        Files.writeString(rollouts, "{\"models\": {\"ranker\": {\"primary\": \"1.0.0\", \"canary\": \"7.7.7\", \"canary_weight\": 10}}}");
        List<Boolean> readyAtEachLoad = new CopyOnWriteArrayList<>();
        AtomicBoolean sawEveryModelLoaded = new AtomicBoolean();
        // Listening from the moment the port is open: the models load after that, on a worker thread.
        WeirServer other = WeirServer.start(TestServers.config(null, Map.of("rollout.file", rollouts.toString(),
                        "audit.log", dir.resolve("audit-too.jsonl").toString())))
                .onSuccess(s -> s.registry().onChange(key -> {
                    sawEveryModelLoaded.compareAndSet(false, s.registry().ready());
                    readyAtEachLoad.add(s.models().ready());
                }))
                .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
        try {
            other.awaitLoaded(120_000);
            assertThat(sawEveryModelLoaded).as("the last model's load was seen").isTrue();
            assertThat(readyAtEachLoad).doesNotContain(true);
            assertThat(other.models().ready()).isFalse();
        } finally {
            other.close();
        }
    }

    /**
     * A start that fails (its port taken) closes what it had started, not only Vert.x: no thread it started outlives
     * it (the embedding search's batcher and index refresher are the ones running by then).
     */
    @Test
    void aStartThatFailsLeavesNoThreadOfItsOwn() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Set<Thread> before = weirThreads();
            assertThatThrownBy(() -> WeirServer.start(TestServers.config(null, Map.of("http.port", taken.getLocalPort(),
                            "audit.log", dir.resolve("audit-failed.jsonl").toString())))
                    .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS))
                    .hasRootCauseInstanceOf(BindException.class);
            Set<Thread> left = weirThreads();
            left.removeAll(before);
            for (Thread t : left) {
                t.join(5_000);   // an executor's thread ends just after its shutdown
            }
            assertThat(left).filteredOn(Thread::isAlive).extracting(Thread::getName).isEmpty();
        }
    }

    /** Live threads that Weir names, but the host CPU reading that every server in the JVM shares. */
    private static Set<Thread> weirThreads() {
        Set<Thread> threads = new HashSet<>(Thread.getAllStackTraces().keySet());
        threads.removeIf(t -> !t.getName().startsWith("weir-") || t.getName().equals("weir-cpu-load"));
        return threads;
    }

    /** The rollout file is checked after the models load, on a worker thread: wait (bounded) for that verdict. */
    private static Future<Void> awaitStartupVerdict(Vertx vertx, int attemptsLeft) {
        if (server.models().startupFailure() != null) {
            return Future.succeededFuture();
        }
        if (attemptsLeft == 0) {
            return Future.failedFuture(new AssertionError("the invalid rollout file was not reported"));
        }
        return vertx.timer(50).compose(t -> awaitStartupVerdict(vertx, attemptsLeft - 1));
    }
}
