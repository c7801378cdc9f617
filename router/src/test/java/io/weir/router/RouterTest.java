package io.weir.router;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.WeirException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.BitSet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RouterTest {
    private static final int USERS = 100_000;

    private final ManualTicker ticker = new ManualTicker();
    private final FixedCatalog catalog = new FixedCatalog().load("moderation", "1.0.0", "1.1.0", "2.0.0");
    private Rollouts rollouts;
    private Router router;

    @BeforeEach
    void setUp() {
        rollouts = Rollouts.builder(catalog, new ScriptedDispatcher(ticker)).ticker(ticker).tickEvery(null).build();
        rollouts.start();
        router = rollouts.router();
    }

    @AfterEach
    void tearDown() {
        rollouts.close();
    }

    private void rollout(double weight) {
        rollouts.admin().put("moderation", new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0")
                .put("canary_weight", weight), "test", "weight " + weight);
    }

    private BitSet canaryUsers() {
        BitSet canary = new BitSet(USERS);
        for (int u = 0; u < USERS; u++) {
            Route r = router.route("moderation", "user-" + u, "req-" + u, null);
            if (r.arm() == Arm.CANARY) {
                assertThat(r.version()).isEqualTo("1.1.0");
                canary.set(u);
            } else {
                assertThat(r.version()).isEqualTo("1.0.0");
            }
        }
        return canary;
    }

    @ParameterizedTest
    @ValueSource(doubles = {0.5, 1, 5, 12.34, 25, 50, 90})
    void splitMatchesTheWeightWithinFiveSigma(double weight) {
        rollout(weight);
        double p = weight / 100;
        double expected = USERS * p;
        double sigma = Math.sqrt(USERS * p * (1 - p));
        assertThat((double) canaryUsers().cardinality()).isCloseTo(expected, org.assertj.core.data.Offset.offset(5 * sigma));
    }

    @Test
    void raisingTheWeightOnlyMovesUsersFromPrimaryToCanary() {
        BitSet before = new BitSet();
        for (double w : new double[] {1, 5, 25, 50, 99.99}) {
            rollout(w);
            BitSet now = canaryUsers();
            BitSet lost = (BitSet) before.clone();
            lost.andNot(now);
            assertThat(lost.cardinality()).as("users moved canary -> primary when raising to %s%%", w).isZero();
            assertThat(now.cardinality()).isGreaterThanOrEqualTo(before.cardinality());
            assertThat(canaryUsers()).as("same weight, same users").isEqualTo(now);
            before = now;
        }
        rollout(100);
        assertThat(canaryUsers().cardinality()).isEqualTo(USERS);
    }

    @Test
    void requestsWithoutUserIdAreSplitByRequestId() {
        rollout(30);
        int canary = 0;
        for (int i = 0; i < USERS; i++) {
            if (router.route("moderation", null, "req-" + i, null).arm() == Arm.CANARY) {
                canary++;
            }
        }
        double sigma = Math.sqrt(USERS * 0.3 * 0.7);
        assertThat((double) canary).isCloseTo(USERS * 0.3, org.assertj.core.data.Offset.offset(5 * sigma));
    }

    @Test
    void forcedArmWinsAndIsValidated() {
        rollout(0);
        assertThat(router.route("moderation", "u", "r", "canary")).extracting(Route::arm, Route::version)
                .containsExactly(Arm.CANARY, "1.1.0");
        assertThat(router.route("moderation", "u", "r", "PRIMARY").version()).isEqualTo("1.0.0");
        assertThatThrownBy(() -> router.route("moderation", "u", "r", "shadow"))
                .isInstanceOfSatisfying(WeirException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT))
                .hasMessageContaining("no shadow version");
        assertThatThrownBy(() -> router.route("moderation", "u", "r", "blue"))
                .isInstanceOfSatisfying(WeirException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_ARGUMENT));
        assertThat(router.forceHeader("moderation")).isEqualTo("x-weir-variant");
    }

    @Test
    void allowListedUsersGetTheCanaryDenyListedThePrimaryAndARolledBackCanaryNobody() {
        rollouts.admin().put("moderation", new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0")
                .put("canary_weight", 100).put("allow_users", new JsonArray().add("qa"))
                .put("deny_users", new JsonArray().add("vip")), "test", null);
        assertThat(router.route("moderation", "vip", "r", null).arm()).isEqualTo(Arm.PRIMARY);
        assertThat(router.route("moderation", "qa", "r", null).arm()).isEqualTo(Arm.CANARY);
        rollouts.admin().rollback("moderation", "alice", "bad canary");
        assertThat(router.route("moderation", "qa", "r", null).arm()).isEqualTo(Arm.PRIMARY);
        assertThat(router.route("moderation", "anyone", "r", null).arm()).isEqualTo(Arm.PRIMARY);
        assertThat(router.route("moderation", "qa", "r", "canary").version()).as("forcing still reaches it").isEqualTo("1.1.0");
    }

    @Test
    void primaryTrafficIsSampledForTheShadowAtItsRate() {
        rollouts.admin().put("moderation", new JsonObject().put("primary", "1.0.0").put("canary", "1.1.0")
                .put("canary_weight", 20).put("shadow", "2.0.0").put("shadow_sample_rate", 0.25), "test", null);
        int primary = 0;
        int mirrored = 0;
        for (int i = 0; i < USERS; i++) {
            Route r = router.route("moderation", "user-" + i, "req-" + i, null);
            if (r.arm() == Arm.PRIMARY) {
                primary++;
                if (r.mirrored()) {
                    mirrored++;
                    assertThat(r.shadowVersion()).isEqualTo("2.0.0");
                }
            } else {
                assertThat(r.mirrored()).as("only the primary's answers are compared").isFalse();
            }
        }
        double sigma = Math.sqrt(primary * 0.25 * 0.75);
        assertThat((double) mirrored).isCloseTo(primary * 0.25, org.assertj.core.data.Offset.offset(5 * sigma));
        assertThat(router.route("moderation", "u", "same", null).mirrored())
                .isEqualTo(router.route("moderation", "u", "same", null).mirrored());
    }

    @Test
    void aModelWithoutRolloutIsServedByItsNewestVersionAndAnUnknownOneIsNotFound() {
        assertThat(router.route("moderation", "u", "r", null)).extracting(Route::arm, Route::version, Route::mirrored)
                .containsExactly(Arm.PRIMARY, "2.0.0", false);
        assertThatThrownBy(() -> router.route("nope", "u", "r", null))
                .isInstanceOfSatisfying(WeirException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    }

    @Test
    void modelsAssignUsersIndependently() {
        catalog.load("ranker", "1", "2");
        rollout(50);
        rollouts.admin().put("ranker", new JsonObject().put("primary", "1").put("canary", "2").put("canary_weight", 50),
                "test", null);
        int both = 0;
        for (int u = 0; u < 10_000; u++) {
            boolean a = router.route("moderation", "user-" + u, null, null).arm() == Arm.CANARY;
            boolean b = router.route("ranker", "user-" + u, null, null).arm() == Arm.CANARY;
            both += a && b ? 1 : 0;
        }
        assertThat((double) both).isCloseTo(2_500, org.assertj.core.data.Offset.offset(5 * Math.sqrt(10_000 * 0.25 * 0.75)));
    }
}
