package io.weir.chaos.drill;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DrillPlanTest {
    static final String MINIMAL = """
            {"name": "d", "rate_per_s": 50,
             "requests": [{"path": "/v1/moderate", "body": {"text": "hi"}}],
             "phases": [{"name": "baseline", "seconds": 2},
                        {"name": "fault", "seconds": 3, "inject": [{"model": "moderation", "failure_rate": 1.0}],
                         "expect": {"statuses": [500]}},
                        {"name": "recovery", "seconds": 3, "clear": [{"model": "moderation"}],
                         "expect": {"recover_within_s": 1, "min_ok_share": 0.99}}]}""";

    @Test
    void aPlanReadsWithItsDefaults() {
        DrillPlan plan = DrillPlan.parse(MINIMAL);
        assertThat(plan.connections()).isEqualTo(32);
        assertThat(plan.timeoutMillis()).isEqualTo(10_000);
        assertThat(plan.seconds()).isEqualTo(8);
        assertThat(plan.phases().get(0).expect().statuses()).containsExactly(200);
        assertThat(plan.phases().get(0).expect().minOkShare()).isNaN();
        DrillPlan.Injection f = plan.phases().get(1).inject().getFirst();
        assertThat(f.model()).isEqualTo("moderation");
        assertThat(f.backend()).isNull();
        assertThat(f.fault()).isEqualTo(new JsonObject().put("failure_rate", 1.0));
        assertThat(plan.phases().get(2).clear()).containsExactly(new DrillPlan.Clearing("moderation", null, null));
        assertThat(plan.phases().get(2).expect().recoverWithinS()).isEqualTo(1);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
            "a typo in a key           | \"rate_per_s\": 50              | \"rate_per_sec\": 50              | drill has an unknown key 'rate_per_sec'",
            "no rate                   | \"rate_per_s\": 50,             | ''                                | drill.rate_per_s is required",
            "a fractional connection   | \"rate_per_s\": 50              | \"rate_per_s\": 50, \"connections\": 2.5 | drill.connections must be a whole number",
            "a status out of range     | \"statuses\": [500]             | \"statuses\": [5000]              | drill.phases[1].expect.statuses[0] must be an HTTP status",
            "recovery past the phase   | \"recover_within_s\": 1          | \"recover_within_s\": 9           | drill.phases[2].expect.recover_within_s must be a number from 0.0 to 3.0",
            "an injection without fault| \"failure_rate\": 1.0           | \"backend\": \"cuda\"               | drill.phases[1].inject[0] sets no fault",
            "a body carrying its id    | {\"text\": \"hi\"}              | {\"text\": \"hi\", \"request_id\": \"x\"} | must not carry 'request_id'",
            "an admin path             | /v1/moderate                   | /admin/models                     | must be an inference path",
            "a bad name                | \"name\": \"d\"                 | \"name\": \"a drill\"             | drill.name must be",
            "an explicit null          | \"min_ok_share\": 0.99          | \"min_ok_share\": null            | drill.phases[2].expect.min_ok_share must be a number",
            "a path climbing out       | /v1/moderate                   | /v1/../admin/models               | must be an inference path",
            "a doubled slash           | /v1/moderate                   | //admin/models                    | must be an inference path",
            "an escaped path           | /v1/moderate                   | /v1/%2e%2e/admin                  | must be an inference path",
            "a rate past certainty     | \"failure_rate\": 1.0           | \"failure_rate\": 1.5             | drill.phases[1].inject[0].failure_rate must be a number from 0.0 to 1.0",
            "a device fault that fails nothing | \"failure_rate\": 1.0   | \"device_fault\": true            | drill.phases[1].inject[0] sets no fault",
            "a latency that is text    | \"failure_rate\": 1.0           | \"latency_ms\": \"lots\"         | drill.phases[1].inject[0].latency_ms must be a number",
            "a bound no 500 can meet   | \"statuses\": [500]             | \"statuses\": [500], \"min_ok_share\": 0.5 | does not allow status 200: it could never pass",
            "a version of every model  | {\"model\": \"moderation\", \"failure_rate\": 1.0} | {\"model\": \"*\", \"version\": \"1.0.0\", \"failure_rate\": 1.0} | belongs to one model, not to '*'",
            "a version that is not one  | {\"model\": \"moderation\", \"failure_rate\": 1.0} | {\"model\": \"moderation\", \"version\": \"latest\", \"failure_rate\": 1.0} | must be a version such as 1.1.0",
            "an admin call on chaos    | \"seconds\": 2}                | \"seconds\": 2, \"admin\": [{\"method\": \"DELETE\", \"path\": \"/admin/chaos/faults/x\"}]} | not /admin/chaos",
            "an admin call off admin   | \"seconds\": 2}                | \"seconds\": 2, \"admin\": [{\"method\": \"POST\", \"path\": \"/v1/moderate\"}]} | must be an /admin/ path",
            "an admin call's method    | \"seconds\": 2}                | \"seconds\": 2, \"admin\": [{\"method\": \"PATCH\", \"path\": \"/admin/rollouts/r\"}]} | method must be one of",
            "at least a status it refuses | \"statuses\": [500]          | \"statuses\": [500], \"at_least\": {\"504\": 1} | at_least names '504', not a status the phase allows",
            "an undo with its own undo | \"seconds\": 2}                | \"seconds\": 2, \"admin\": [{\"method\": \"PUT\", \"path\": \"/admin/rollouts/r\", \"undo\": {\"method\": \"DELETE\", \"path\": \"/admin/rollouts/r\", \"undo\": {}}}]} | has an unknown key 'undo'",
            "a change left behind unmeant | \"seconds\": 2}          | \"seconds\": 2, \"admin\": [{\"method\": \"POST\", \"path\": \"/admin/rollouts/r/pause\"}]} | changes the gateway but has no undo",
            "a clear of another target | \"clear\": [{\"model\": \"moderation\"}] | \"clear\": [{\"model\": \"moderation\", \"backend\": \"cpu\"}] | which no earlier phase injected",
            "a shed past everything    | \"seconds\": 2}                | \"seconds\": 2, \"shed\": 1.5}   | drill.phases[0].shed must be a number from 0.0 to 1.0",
            "a shed that is text       | \"seconds\": 2}                | \"seconds\": 2, \"shed\": \"half\"} | drill.phases[0].shed must be a number",
    })
    void aBadPlanIsRefusedNamingTheField(String what, String from, String to, String message) {
        String broken = MINIMAL.replace(from, to);
        assertThat(broken).as("the edit applies").isNotEqualTo(MINIMAL);
        assertThatThrownBy(() -> DrillPlan.parse(broken)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(message);
    }

    @Test
    void aVersionedFaultIsClearedByTheSameTargetAndAdminCallsKeepTheirOrder() {
        DrillPlan plan = DrillPlan.parse("""
                {"name": "d", "rate_per_s": 50,
                 "requests": [{"path": "/v1/rank:score", "body": {"user_id": "u", "candidates": []}}],
                 "phases": [{"name": "set up", "seconds": 1,
                             "admin": [{"method": "PUT", "path": "/admin/rollouts/ranker", "body": {"primary": "1.0.0"},
                                        "undo": {"method": "DELETE", "path": "/admin/rollouts/ranker"}}],
                             "inject": [{"model": "ranker", "version": "1.1.0", "failure_rate": 1.0}]},
                            {"name": "tear down", "seconds": 1, "clear": [{"model": "ranker", "version": "1.1.0"}],
                             "admin": [{"method": "DELETE", "path": "/admin/rollouts/ranker"}]}]}""");
        assertThat(plan.phases().get(0).admin()).containsExactly(new DrillPlan.AdminCall("PUT", "/admin/rollouts/ranker",
                new JsonObject().put("primary", "1.0.0"), new DrillPlan.AdminCall("DELETE", "/admin/rollouts/ranker", null, null, null),
                null));
        assertThat(plan.phases().get(0).inject().getFirst().fault())
                .isEqualTo(new JsonObject().put("version", "1.1.0").put("failure_rate", 1.0));
        assertThat(plan.phases().get(1).clear()).containsExactly(new DrillPlan.Clearing("ranker", "1.1.0", null));
        assertThatThrownBy(() -> DrillPlan.parse("""
                {"name": "d", "rate_per_s": 50, "requests": [{"path": "/v1/moderate", "body": {}}],
                 "phases": [{"name": "a", "seconds": 1, "inject": [{"model": "ranker", "version": "1.1.0", "failure_rate": 1}]},
                            {"name": "b", "seconds": 1, "clear": [{"model": "ranker"}]}]}"""))
                .hasMessageContaining("clears ranker, which no earlier phase injected (in force: [ranker@1.1.0])");
    }

    @Test
    void aPhaseMayHaveTheEdgeShedAndOthersLeaveItAsItIs() {
        DrillPlan plan = DrillPlan.parse(MINIMAL.replace("{\"name\": \"baseline\", \"seconds\": 2}",
                "{\"name\": \"baseline\", \"seconds\": 2, \"shed\": 0.3}"));
        assertThat(plan.phases().get(0).shedFraction()).isEqualTo(0.3);
        assertThat(plan.phases().get(1).shedFraction()).as("not said: left as it is").isNaN();
    }

    @Test
    void aPhaseMayOfferItsOwnRateAndTheDrillMayPropagateADeadline() {
        DrillPlan plan = DrillPlan.parse(MINIMAL.replace("\"rate_per_s\": 50,", "\"rate_per_s\": 50, \"client_deadline_ms\": 80,")
                .replace("{\"name\": \"baseline\", \"seconds\": 2}", "{\"name\": \"baseline\", \"seconds\": 2, \"rate_per_s\": 400}"));
        assertThat(plan.clientDeadlineMillis()).isEqualTo(80);
        assertThat(plan.phases().get(0).rate(plan)).isEqualTo(400);
        assertThat(plan.phases().get(1).rate(plan)).isEqualTo(50);
        assertThat(DrillPlan.parse(MINIMAL).clientDeadlineMillis()).as("off unless asked").isZero();
    }

    @Test
    void everyShippedDrillParses() throws java.io.IOException {
        java.util.List<java.nio.file.Path> plans;
        try (var files = java.nio.file.Files.list(java.nio.file.Path.of("drills"))) {
            plans = files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
        }
        assertThat(plans).hasSizeGreaterThanOrEqualTo(5);
        for (java.nio.file.Path plan : plans) {
            assertThat(DrillPlan.parse(java.nio.file.Files.readString(plan)).phases()).as(plan.toString()).isNotEmpty();
        }
    }

    @Test
    void aChangeLeftBehindOnPurposeSaysSo() {
        DrillPlan plan = DrillPlan.parse(MINIMAL.replace("{\"name\": \"baseline\", \"seconds\": 2}",
                "{\"name\": \"baseline\", \"seconds\": 2, \"admin\": [{\"method\": \"POST\", "
                        + "\"path\": \"/admin/rollouts/r/pause\", \"undo\": null}]}"));
        assertThat(plan.phases().get(0).admin().getFirst().undo()).isNull();
    }

    @Test
    void anUndoMatchesOnlyTheSameCallBodyIncluded() {
        DrillPlan.AdminCall restore = new DrillPlan.AdminCall("PUT", "/admin/models/m/batching",
                new JsonObject().put("policy", "adaptive"), null, null);
        assertThat(restore.sameAs(new DrillPlan.AdminCall("PUT", "/admin/models/m/batching",
                new JsonObject().put("policy", "adaptive"), null, null))).isTrue();
        assertThat(restore.sameAs(new DrillPlan.AdminCall("PUT", "/admin/models/m/batching",
                new JsonObject().put("policy", "none"), null, null))).as("a further change is not the restore").isFalse();
        assertThat(restore.sameAs(new DrillPlan.AdminCall("PUT", "/admin/models/m/batching", null, null, null))).isFalse();
        assertThat(restore.sameAs(new DrillPlan.AdminCall("DELETE", "/admin/models/m/batching", null, null, null))).isFalse();
    }

    @Test
    void aClientDeadlinePastTheRequestTimeoutIsRefused() {
        assertThatThrownBy(() -> DrillPlan.parse(MINIMAL.replace("\"rate_per_s\": 50,",
                "\"rate_per_s\": 50, \"timeout_ms\": 1000, \"client_deadline_ms\": 2000,")))
                .hasMessageContaining("must not exceed timeout_ms");
    }

    @Test
    void notJsonIsRefused() {
        assertThatThrownBy(() -> DrillPlan.parse("phases: []")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("a drill is a JSON object");
    }

    @Test
    void everyShippedDrillReads() throws IOException {
        List<Path> drills;
        try (Stream<Path> files = Files.list(Path.of("drills"))) {
            drills = files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
        }
        assertThat(drills).hasSizeGreaterThanOrEqualTo(3);
        for (Path p : drills) {
            DrillPlan plan = DrillPlan.parse(Files.readString(p));
            assertThat(plan.name() + ".json").as(p.toString()).isEqualTo(p.getFileName().toString());
            assertThat(plan.description()).as(p.toString()).isNotEmpty();
            // Whatever a drill injects, a later phase clears.
            for (int i = 0; i < plan.phases().size(); i++) {
                for (DrillPlan.Injection f : plan.phases().get(i).inject()) {
                    DrillPlan.Clearing c = f.target();
                    assertThat(plan.phases().subList(i + 1, plan.phases().size()).stream()
                            .anyMatch(later -> later.clear().contains(c))).as(p + ": " + c + " cleared later").isTrue();
                }
            }
        }
    }
}
