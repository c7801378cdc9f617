package io.weir.gateway;

import io.vertx.core.json.JsonObject;
import io.weir.chaos.drill.DrillPlan;
import io.weir.chaos.drill.DrillReport;
import io.weir.chaos.drill.DrillRunner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Drills run against a live gateway, as SREs run them with {@code bin/weir-drill}: a drill whose faults the server
 * handles as promised passes, with every request answered once in the error table's shape; a drill that expects
 * something else fails and says where; a drill that cannot mean anything (chaos off, a backend the server lacks)
 * does not run. Whatever a drill injected is cleared when it ends.
 */
class DrillRunnerTest {
    @TempDir
    static Path dir;
    private static WeirServer server;
    private static WeirServer plainServer;

    @BeforeAll
    static void startServers() throws Exception {
        server = TestServers.start(null, Map.of("chaos.enabled", true, "audit.log", dir.resolve("a.jsonl").toString()));
        plainServer = TestServers.start(null, Map.of("audit.log", dir.resolve("b.jsonl").toString()));
    }

    @AfterAll
    static void stopServers() {
        server.close();
        plainServer.close();
    }

    private static URI base(WeirServer s) {
        return URI.create("http://127.0.0.1:" + s.port());
    }

    /** Baseline, every moderation batch failing, recovery; {@code faultStatuses} is what the fault phase allows. */
    private static DrillPlan failingModeration(String faultStatuses) {
        return DrillPlan.parse("""
                {"name": "failing-moderation", "rate_per_s": 60, "connections": 8,
                 "requests": [{"path": "/v1/moderate", "body": {"text": "thanks, that was helpful"}},
                              {"path": "/v1/moderate", "body": {"text": "where is my refund?"}}],
                 "phases": [{"name": "baseline", "seconds": 1},
                            {"name": "failing", "seconds": 1.5, "inject": [{"model": "moderation", "failure_rate": 1.0}],
                             "expect": {"statuses": %s}},
                            {"name": "recovery", "seconds": 2, "clear": [{"model": "moderation"}],
                             "expect": {"recover_within_s": 1, "min_ok_share": 0.99}}]}""".formatted(faultStatuses));
    }

    private static JsonObject adminGet(String path) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(base(server).resolve(path)).build(),
                HttpResponse.BodyHandlers.ofString());
        return new JsonObject(r.body());
    }

    private static JsonObject faultsInForce() throws Exception {
        return adminGet("/admin/chaos/faults").getJsonObject("faults");
    }

    @Test
    void aDrillWhoseFaultTheGatewayHandlesAsPromisedPasses() throws Exception {
        DrillReport report = new DrillRunner(base(server), null).run(failingModeration("[500]"));
        assertThat(report.passed()).as(report.toText()).isTrue();
        DrillReport.PhaseReport baseline = report.phases().get(0);
        DrillReport.PhaseReport failing = report.phases().get(1);
        DrillReport.PhaseReport recovery = report.phases().get(2);
        // Sent on schedule; answered under the phase's fault, but for the few still in flight when the next phase
        // changed the faults (a few ms of 60 requests/s), which the report allows the next phase's statuses.
        assertThat(baseline.sent()).isEqualTo(60);
        assertThat(baseline.statuses().get(200)).isGreaterThanOrEqualTo(57);
        assertThat(failing.sent()).isEqualTo(90);
        assertThat(failing.statuses().get(500)).as("the fault was in force").isGreaterThanOrEqualTo(87);
        assertThat(recovery.statuses()).containsEntry(200, recovery.sent());
        assertThat(recovery.recoveredAfterS()).isEqualTo(0);
        assertThat(report.phases()).allSatisfy(p -> {
            assertThat(p.lost()).isZero();
            assertThat(p.malformed()).isZero();
        });
        assertThat(faultsInForce()).isEmpty();
    }

    @Test
    void aDrillThatExpectsOtherwiseFailsNamingThePhaseAndTheStatusAndClearsItsFault() throws Exception {
        // Ends with the fault still in force: the runner clears it on its way out.
        DrillPlan plan = DrillPlan.parse("""
                {"name": "expects-the-impossible", "rate_per_s": 40, "connections": 4,
                 "requests": [{"path": "/v1/moderate", "body": {"text": "hello"}}],
                 "phases": [{"name": "failing", "seconds": 1, "inject": [{"model": "moderation", "failure_rate": 1.0}]}]}""");
        DrillReport report = new DrillRunner(base(server), null).run(plan);
        assertThat(report.passed()).isFalse();
        assertThat(report.phases().getFirst().failures()).containsExactly("40 answer(s) with status 500, not allowed here [200]");
        assertThat(report.toText()).contains("failing: 40 answer(s) with status 500");
        assertThat(faultsInForce()).as("cleared by the runner").isEmpty();
    }

    @Test
    void aDrillAgainstAGatewayWithoutChaosDoesNotRun() {
        assertThatThrownBy(() -> new DrillRunner(base(plainServer), null).run(failingModeration("[500]")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("chaos.enabled=true");
    }

    @Test
    void aDrillThatNeedsABackendTheGatewayLacksDoesNotRun() throws Exception {
        DrillPlan plan = DrillPlan.parse("""
                {"name": "failing-tpu", "rate_per_s": 10,
                 "requests": [{"path": "/v1/moderate", "body": {"text": "hello"}}],
                 "phases": [{"name": "failing", "seconds": 1, "inject": [{"model": "moderation", "backend": "tpu",
                             "failure_rate": 1.0, "device_fault": true}]},
                            {"name": "recovery", "seconds": 1, "clear": [{"model": "moderation", "backend": "tpu"}]}]}""");
        assertThatThrownBy(() -> new DrillRunner(base(server), null).run(plan)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("injects into moderation on tpu, but no ready version of moderation runs on tpu");
        assertThat(faultsInForce()).isEmpty();
    }

    @Test
    void aFailingCanaryIsRolledBackByTheGuardAndClientsGetThePrimaryAgain() throws Exception {
        // The shipped bad-canary drill, shortened: its rollout, its fault on the canary version alone, its bounds.
        JsonObject shipped = new JsonObject(java.nio.file.Files.readString(Path.of("..", "chaos", "drills", "bad-canary.json")));
        shipped.put("rate_per_s", 80);
        io.vertx.core.json.JsonArray phases = shipped.getJsonArray("phases");
        assertThat(phases.stream().map(p -> ((JsonObject) p).getString("name")))
                .containsExactly("warm-up", "canary at 50%", "canary fails", "after");
        phases.getJsonObject(0).put("seconds", 1);
        phases.getJsonObject(1).put("seconds", 2);
        phases.getJsonObject(2).put("seconds", 7).getJsonObject("expect").put("recover_within_s", 6)
                // what this test is about is the rollback; one GC or JIT stall of this shared 2-core machine in the
                // phase's last second put that second's p95 over 120 ms and read as "never recovered" (seen once in CI)
                .remove("max_ok_p95_ms");
        phases.getJsonObject(3).put("seconds", 1);
        DrillReport report = new DrillRunner(base(server), null).run(DrillPlan.parse(shipped));
        assertThat(report.passed()).as(report.toText()).isTrue();
        DrillReport.PhaseReport failing = report.phases().get(2);
        assertThat(failing.statuses().get(500)).as("the canary's users saw the fault until the rollback").isPositive();
        assertThat(failing.recoveredAfterS()).isLessThanOrEqualTo(6);

        HttpResponse<String> audit = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                base(server).resolve("/admin/rollouts/ranker/audit?limit=10")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(audit.body()).contains("\"actor\":\"guard\",\"action\":\"rollback\"").contains("canary error rate");
        assertThat(faultsInForce()).isEmpty();
    }

    private static int rolloutStatus() throws Exception {
        return HttpClient.newHttpClient().send(HttpRequest.newBuilder(base(server).resolve("/admin/rollouts/ranker")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode();
    }

    private static DrillPlan badCanary() throws Exception {
        return DrillPlan.parse(java.nio.file.Files.readString(Path.of("..", "chaos", "drills", "bad-canary.json")));
    }

    @Test
    void theBadCanaryDrillRefusesToReplaceARolloutAnOperatorConfigured() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> put = http.send(HttpRequest.newBuilder(base(server).resolve("/admin/rollouts/ranker"))
                .header("content-type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(
                        "{\"primary\": \"1.0.0\", \"actor\": \"operator\", \"why\": \"pin\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(put.statusCode()).as(put.body()).isEqualTo(200);
        try {
            assertThatThrownBy(() -> new DrillRunner(base(server), null).run(badCanary()))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("already configured here");
            assertThat(rolloutStatus()).as("the operator's rollout is untouched").isEqualTo(200);
        } finally {
            http.send(HttpRequest.newBuilder(base(server).resolve("/admin/rollouts/ranker")).DELETE().build(),
                    HttpResponse.BodyHandlers.ofString());
        }
    }

    /**
     * Runs {@code plan} on a thread of its own, interrupts it once {@code inForce} says what it set is in place (within
     * 10 s, else the test fails), and returns how the run ended.
     */
    private static Throwable interruptedOnce(DrillPlan plan, java.util.concurrent.Callable<Boolean> inForce) throws Exception {
        java.util.concurrent.CompletableFuture<Throwable> ended = new java.util.concurrent.CompletableFuture<>();
        Thread drill = Thread.ofPlatform().start(() -> {
            try {
                new DrillRunner(base(server), null).run(plan);
                ended.complete(null);
            } catch (Throwable t) {
                ended.complete(t);
            }
        });
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!inForce.call() && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertThat(inForce.call()).as("what the drill sets is in place").isTrue();
        drill.interrupt();
        return ended.get(15, java.util.concurrent.TimeUnit.SECONDS);
    }

    @Test
    void anInterruptedBadCanaryDrillRemovesItsRolloutAndItsFault() throws Exception {
        assertThat(interruptedOnce(badCanary(), () -> rolloutStatus() == 200)).isInstanceOf(InterruptedException.class);
        assertThat(rolloutStatus()).as("undone on the way out").isEqualTo(404);
        assertThat(faultsInForce()).isEmpty();
    }

    @Test
    void aDrillThatInjectsIntoAModelTheGatewayLacksDoesNotRun() {
        DrillPlan plan = DrillPlan.parse("""
                {"name": "typo", "rate_per_s": 10,
                 "requests": [{"path": "/v1/moderate", "body": {"text": "hello"}}],
                 "phases": [{"name": "failing", "seconds": 1, "inject": [{"model": "moderaton", "failure_rate": 1.0}]}]}""");
        assertThatThrownBy(() -> new DrillRunner(base(server), null).run(plan)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("injects into moderaton, which is not a ready version here");
    }

    @Test
    void anInterruptedDrillStopsItsLoadAndClearsItsFault() throws Exception {
        DrillPlan plan = DrillPlan.parse("""
                {"name": "interrupted", "rate_per_s": 20, "connections": 4,
                 "requests": [{"path": "/v1/moderate", "body": {"text": "hello"}}],
                 "phases": [{"name": "failing", "seconds": 30, "inject": [{"model": "moderation", "failure_rate": 1.0}],
                             "expect": {"statuses": [500]}}]}""");
        assertThat(interruptedOnce(plan, () -> !faultsInForce().isEmpty())).isInstanceOf(InterruptedException.class);
        assertThat(faultsInForce()).as("cleared on the way out").isEmpty();
    }

    private static double shedInForce() throws Exception {
        return adminGet("/admin/chaos/shed").getDouble("fraction");
    }

    @Test
    void aShedPhaseIsAnswered429WithRetryAfterAndTheDrillEndsItsShedding() throws Exception {
        // The last phase leaves the edge shedding: the runner ends it on its way out.
        DrillPlan plan = DrillPlan.parse("""
                {"name": "edge-shed", "rate_per_s": 60, "connections": 8,
                 "requests": [{"path": "/v1/moderate", "body": {"text": "thanks, that was helpful"}}],
                 "phases": [{"name": "baseline", "seconds": 1, "expect": {"min_ok_share": 0.99}},
                            {"name": "all shed", "seconds": 1, "shed": 1, "expect": {"statuses": [429], "at_least": {"429": 55}}},
                            {"name": "recovery", "seconds": 1.5, "shed": 0,
                             "expect": {"statuses": [200, 429], "recover_within_s": 1, "recover_from": [429]}},
                            {"name": "a third shed", "seconds": 2, "shed": 0.3,
                             "expect": {"statuses": [200, 429], "at_least": {"200": 60, "429": 15}}}]}""");
        DrillReport report = new DrillRunner(base(server), null).run(plan);
        assertThat(report.passed()).as(report.toText()).isTrue();
        assertThat(report.phases()).allSatisfy(p -> {
            assertThat(p.lost()).isZero();
            assertThat(p.malformed()).isZero();
        });
        assertThat(shedInForce()).as("ended by the runner").isZero();
    }

    @Test
    void aShedDrillDoesNotRunWhileTheEdgeAlreadySheds() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        http.send(HttpRequest.newBuilder(base(server).resolve("/admin/chaos/shed"))
                .PUT(HttpRequest.BodyPublishers.ofString("{\"fraction\": 0.5}")).build(), HttpResponse.BodyHandlers.ofString());
        try {
            DrillPlan plan = DrillPlan.parse("""
                    {"name": "shed-twice", "rate_per_s": 10,
                     "requests": [{"path": "/v1/moderate", "body": {"text": "hello"}}],
                     "phases": [{"name": "shed", "seconds": 1, "shed": 0.2, "expect": {"statuses": [200, 429]}}]}""");
            assertThatThrownBy(() -> new DrillRunner(base(server), null).run(plan)).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("the edge already sheds 0.5");
            assertThat(shedInForce()).as("the operator's drill left as it was").isEqualTo(0.5);
        } finally {
            http.send(HttpRequest.newBuilder(base(server).resolve("/admin/chaos/shed")).DELETE().build(),
                    HttpResponse.BodyHandlers.ofString());
        }
    }

    @Test
    void eachPhaseOffersItsOwnRate() throws Exception {
        DrillPlan plan = DrillPlan.parse("""
                {"name": "rates", "rate_per_s": 20, "client_deadline_ms": 2000,
                 "requests": [{"path": "/v1/moderate", "body": {"text": "hello"}}],
                 "phases": [{"name": "steady", "seconds": 1},
                            {"name": "surge", "seconds": 1, "rate_per_s": 60}]}""");
        DrillReport report = new DrillRunner(base(server), null).run(plan);
        assertThat(report.passed()).as(report.toText()).isTrue();
        assertThat(report.phases()).extracting(DrillReport.PhaseReport::sent).containsExactly(20, 60);
    }

    @Test
    void drillsSendOnlyToLoopback() {
        assertThatThrownBy(() -> new DrillRunner(URI.create("http://192.0.2.1:8080"), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("only to loopback");
        assertThatThrownBy(() -> new DrillRunner(URI.create("https://127.0.0.1:8080"), null))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("http://<host>:<port>");
    }
}
