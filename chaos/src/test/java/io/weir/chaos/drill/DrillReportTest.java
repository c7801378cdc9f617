package io.weir.chaos.drill;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The verdict rules on made-up outcomes: what fails a phase, and when a phase counts as recovered. */
class DrillReportTest {
    private static final long MS = 1_000_000;

    private static DrillPlan.Phase phase(double seconds, DrillPlan.Expectation expect) {
        return new DrillPlan.Phase("p", seconds, List.of(), List.of(), List.of(), expect);
    }

    private static DrillPlan.Expectation expect(Set<Integer> statuses, double minShare, double maxP95, double recover) {
        return new DrillPlan.Expectation(statuses, minShare, maxP95, recover);
    }

    /** {@code perSecond} requests a second for {@code seconds}, each got {@code status} after {@code latencyMs}. */
    private static List<DrillReport.Outcome> steady(double fromS, double seconds, int perSecond, int status, long latencyMs) {
        List<DrillReport.Outcome> out = new ArrayList<>();
        int n = (int) (seconds * perSecond);
        for (int i = 0; i < n; i++) {
            long offset = (long) (fromS * 1e9) + (long) (i * 1e9 / perSecond);
            out.add(new DrillReport.Outcome(0, offset, status, latencyMs * MS, null));
        }
        return out;
    }

    @Test
    void aCleanPhasePassesAndReportsItsPercentiles() {
        List<DrillReport.Outcome> outcomes = new ArrayList<>(steady(0, 2, 100, 200, 10));
        outcomes.set(0, new DrillReport.Outcome(0, 0, 200, 50 * MS, null));
        DrillReport.PhaseReport r = DrillReport.phase(phase(2, DrillPlan.Expectation.DEFAULT), outcomes);
        assertThat(r.failures()).isEmpty();
        assertThat(r.sent()).isEqualTo(200);
        assertThat(r.statuses()).containsEntry(200, 200);
        assertThat(r.okP50Ms()).isEqualTo(10);
        assertThat(r.okP99Ms()).isEqualTo(10);
        assertThat(r.recoveredAfterS()).isNaN();
    }

    @Test
    void oneLostRequestOrOneMalformedAnswerFailsAnyPhase() {
        List<DrillReport.Outcome> outcomes = new ArrayList<>(steady(0, 1, 100, 200, 10));
        outcomes.add(new DrillReport.Outcome(0, 5 * MS, DrillReport.LOST, 10_000 * MS, "d-7 got no answer: timeout"));
        outcomes.add(new DrillReport.Outcome(0, 6 * MS, 429, 3 * MS, "d-8 was answered 429 without Retry-After"));
        DrillReport.PhaseReport r = DrillReport.phase(phase(1, expect(Set.of(200, 429), Double.NaN, Double.NaN, Double.NaN)), outcomes);
        assertThat(r.failures()).containsExactly("1 request(s) lost: no answer within the timeout", "1 answer(s) malformed");
        assertThat(r.lost()).isEqualTo(1);
        assertThat(r.examples()).containsExactly("d-7 got no answer: timeout", "d-8 was answered 429 without Retry-After");
    }

    @Test
    void aStatusThePhaseDoesNotAllowFailsIt() {
        List<DrillReport.Outcome> outcomes = new ArrayList<>(steady(0, 1, 100, 200, 10));
        outcomes.addAll(steady(0, 1, 3, 500, 2));
        DrillReport.PhaseReport r = DrillReport.phase(phase(1, DrillPlan.Expectation.DEFAULT), outcomes);
        assertThat(r.failures()).containsExactly("3 answer(s) with status 500, not allowed here [200]");
    }

    @Test
    void aRequestStillUnansweredWhenTheNextPhaseChangedTheFaultsMayHaveEitherPhasesStatus() {
        List<DrillReport.Outcome> outcomes = new ArrayList<>(steady(0, 1, 10, 200, 10));
        outcomes.add(new DrillReport.Outcome(0, 990 * MS, 500, 30 * MS, null, true));
        DrillReport.PhaseReport crossed = DrillReport.phase(phase(1, DrillPlan.Expectation.DEFAULT), outcomes, Set.of(500));
        assertThat(crossed.failures()).isEmpty();
        assertThat(crossed.statuses()).containsEntry(500, 1);
        outcomes.add(new DrillReport.Outcome(0, 500 * MS, 500, 30 * MS, null, false));
        DrillReport.PhaseReport notCrossed = DrillReport.phase(phase(1, DrillPlan.Expectation.DEFAULT), outcomes, Set.of(500));
        assertThat(notCrossed.failures()).containsExactly("1 answer(s) with status 500, not allowed here [200]");
    }

    @Test
    void aPhaseThatMustFeelItsFaultFailsWithoutIt() {
        DrillPlan.Expectation mustSee500 = new DrillPlan.Expectation(Set.of(200, 500), Double.NaN, Double.NaN, Double.NaN,
                java.util.Map.of(500, 1));
        DrillReport.PhaseReport none = DrillReport.phase(phase(1, mustSee500), steady(0, 1, 10, 200, 5));
        assertThat(none.failures()).containsExactly("0 answer(s) with status 500, expected at least 1: the fault was not felt");
        List<DrillReport.Outcome> felt = new ArrayList<>(steady(0, 1, 10, 200, 5));
        felt.add(new DrillReport.Outcome(0, 0, 500, MS, null));
        assertThat(DrillReport.phase(phase(1, mustSee500), felt).failures()).isEmpty();
    }

    @Test
    void anAdminChecksFindingsFailItsPhase() {
        DrillPlan plan = DrillPlan.parse(DrillPlanTest.MINIMAL);
        List<DrillReport.Outcome> outcomes = new ArrayList<>();
        steady(0, 2, 10, 200, 5).forEach(o -> outcomes.add(new DrillReport.Outcome(0, o.offsetNanos(), 200, o.latencyNanos(), null)));
        steady(0, 3, 10, 500, 5).forEach(o -> outcomes.add(new DrillReport.Outcome(1, o.offsetNanos(), 500, o.latencyNanos(), null)));
        steady(0, 3, 10, 200, 5).forEach(o -> outcomes.add(new DrillReport.Outcome(2, o.offsetNanos(), 200, o.latencyNanos(), null)));
        DrillReport report = DrillReport.of(plan, "http://127.0.0.1:1", outcomes,
                java.util.Map.of(2, List.of("GET /admin/rollouts/ranker answered {}, expected it to contain {\"x\":1}")));
        assertThat(report.passed()).isFalse();
        assertThat(report.phases().get(2).failures()).containsExactly("GET /admin/rollouts/ranker answered {}, expected it to contain {\"x\":1}");
        assertThat(report.phases().get(0).passed()).isTrue();
    }

    @Test
    void anAdminAnswerContainsWhatACheckExpectsKeyByKey() {
        io.vertx.core.json.JsonObject answer = new io.vertx.core.json.JsonObject(
                "{\"rollout\": {\"status\": \"rolled_back\", \"canary_weight\": 0.0, \"stages\": []}, \"guard\": {}}");
        assertThat(DrillRunner.contains(answer, new io.vertx.core.json.JsonObject("{\"rollout\": {\"status\": \"rolled_back\"}}"))).isTrue();
        assertThat(DrillRunner.contains(answer, new io.vertx.core.json.JsonObject("{\"rollout\": {\"canary_weight\": 0}}"))).isTrue();
        assertThat(DrillRunner.contains(answer, new io.vertx.core.json.JsonObject("{\"rollout\": {\"status\": \"running\"}}"))).isFalse();
        assertThat(DrillRunner.contains(answer, new io.vertx.core.json.JsonObject("{\"rollout\": {\"paused\": false}}"))).isFalse();
        assertThat(DrillRunner.contains(answer, new io.vertx.core.json.JsonObject("{\"guard\": {\"watching\": true}}"))).isFalse();
    }

    @Test
    void requestsLeftUnsentByTheClientAreShownApartAndJudgedAs504() {
        List<DrillReport.Outcome> outcomes = new ArrayList<>(steady(0, 1, 10, 200, 5));
        outcomes.add(new DrillReport.Outcome(0, 0, DrillReport.UNSENT, 90 * MS, null));
        DrillReport.PhaseReport strict = DrillReport.phase(phase(1, expect(Set.of(200, 429), Double.NaN, Double.NaN, Double.NaN)), outcomes);
        assertThat(strict.failures()).containsExactly("1 request(s) left unsent, their deadline gone while they waited for"
                + " a connection (a 504, not allowed here [200, 429])".replace("[200, 429]", Set.of(200, 429).toString()));
        assertThat(strict.lost()).isZero();
        DrillReport.PhaseReport allows504 = DrillReport.phase(phase(1, expect(Set.of(200, 504), Double.NaN, Double.NaN, Double.NaN)), outcomes);
        assertThat(allows504.failures()).isEmpty();
        DrillReport report = new DrillReport("d", "t", List.of(allows504));
        assertThat(report.toText()).contains("unsent:1 200:10");
        assertThat(report.toJson().getJsonArray("phases").getJsonObject(0).getJsonObject("statuses").getInteger("unsent")).isEqualTo(1);
    }

    @Test
    void sharesAndP95AreHeldToTheirBounds() {
        List<DrillReport.Outcome> outcomes = new ArrayList<>(steady(0, 1, 90, 200, 100));
        outcomes.addAll(steady(0, 1, 10, 429, 1));
        DrillReport.PhaseReport r = DrillReport.phase(phase(1, expect(Set.of(200, 429), 0.95, 80, Double.NaN)), outcomes);
        assertThat(r.failures()).containsExactly("90.00% answered 200, expected at least 95.00%",
                "p95 of the 200s 100.0 ms, expected at most 80.0 ms");
    }

    @Test
    void recoveryIsTheStartOfTheLastRunOfHealthyWindowsAndTheBoundsApplyFromThere() {
        // Seconds 0-1: 504s; 1-2: half 200s; 2-6: all 200 within 50 ms.
        List<DrillReport.Outcome> outcomes = new ArrayList<>(steady(0, 1, 100, 504, 80));
        outcomes.addAll(steady(1, 1, 50, 200, 30));
        outcomes.addAll(steady(1, 1, 50, 429, 1));
        outcomes.addAll(steady(2, 4, 100, 200, 30));
        DrillReport.PhaseReport inTime = DrillReport.phase(phase(6, expect(Set.of(200, 429, 504), 0.99, 50, 3)), outcomes);
        assertThat(inTime.recoveredAfterS()).isEqualTo(2);
        assertThat(inTime.failures()).isEmpty();
        DrillReport.PhaseReport late = DrillReport.phase(phase(6, expect(Set.of(200, 429, 504), 0.99, 50, 1)), outcomes);
        assertThat(late.failures()).containsExactly("recovered after 2.0 s, expected within 1.0 s");
        // A p95 bound the recovered windows miss: never healthy.
        DrillReport.PhaseReport slow = DrillReport.phase(phase(6, expect(Set.of(200, 429, 504), 0.99, 20, 3)), outcomes);
        assertThat(slow.recoveredAfterS()).isInfinite();
        assertThat(slow.failures()).contains("did not recover within the phase's 6.0 s");
    }

    @Test
    void recoveringFromTheFaultsStatusesIgnoresAShedUnrelatedToIt() {
        // 500s for 2 s, then 200s with a few 429s (an edge shed in a GC pause) in the fourth second.
        List<DrillReport.Outcome> outcomes = new ArrayList<>(steady(0, 2, 100, 500, 5));
        outcomes.addAll(steady(2, 4, 100, 200, 5));
        outcomes.addAll(steady(3.5, 0.03, 100, 429, 1));
        DrillPlan.Expectation byShare = expect(Set.of(200, 429, 500), 0.99, Double.NaN, 5);
        assertThat(DrillReport.phase(phase(6, byShare), outcomes).recoveredAfterS()).as("a shed moves it").isEqualTo(4);
        DrillPlan.Expectation fromFault = new DrillPlan.Expectation(Set.of(200, 429, 500), 0.95, Double.NaN, 5,
                java.util.Map.of(), Set.of(500));
        DrillReport.PhaseReport r = DrillReport.phase(phase(6, fromFault), outcomes);
        assertThat(r.recoveredAfterS()).isEqualTo(2);
        assertThat(r.failures()).isEmpty();
    }

    @Test
    void aRelapseAfterRecoveringMovesTheRecoveryPoint() {
        List<DrillReport.Outcome> outcomes = new ArrayList<>(steady(0, 2, 100, 200, 10));
        outcomes.addAll(steady(2, 1, 100, 504, 80)); // fails again in its third second
        outcomes.addAll(steady(3, 2, 100, 200, 10));
        DrillReport.PhaseReport r = DrillReport.phase(phase(5, expect(Set.of(200, 504), Double.NaN, Double.NaN, 4)), outcomes);
        assertThat(r.recoveredAfterS()).isEqualTo(3);
        assertThat(r.failures()).isEmpty();
    }

    @Test
    void theReportPassesOnlyWhenEveryPhaseDoes() {
        DrillPlan plan = DrillPlan.parse(DrillPlanTest.MINIMAL);
        List<DrillReport.Outcome> outcomes = new ArrayList<>();
        steady(0, 2, 10, 200, 5).forEach(o -> outcomes.add(new DrillReport.Outcome(0, o.offsetNanos(), 200, o.latencyNanos(), null)));
        steady(0, 3, 10, 500, 5).forEach(o -> outcomes.add(new DrillReport.Outcome(1, o.offsetNanos(), 500, o.latencyNanos(), null)));
        steady(0, 3, 10, 200, 5).forEach(o -> outcomes.add(new DrillReport.Outcome(2, o.offsetNanos(), 200, o.latencyNanos(), null)));
        DrillReport report = DrillReport.of(plan, "http://127.0.0.1:1", outcomes);
        assertThat(report.passed()).as(report.toText()).isTrue();
        assertThat(report.toJson().getJsonArray("phases").getJsonObject(1).getJsonObject("statuses").getInteger("500")).isEqualTo(30);

        outcomes.add(new DrillReport.Outcome(1, 0, 200, MS, null)); // a 200 where only 500s are expected
        DrillReport failed = DrillReport.of(plan, "http://127.0.0.1:1", outcomes);
        assertThat(failed.passed()).isFalse();
        assertThat(failed.toText()).contains("FAILED").contains("fault: 1 answer(s) with status 200, not allowed here [500]");
    }
}
