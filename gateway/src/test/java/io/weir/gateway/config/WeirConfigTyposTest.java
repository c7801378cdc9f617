package io.weir.gateway.config;

import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** A misspelled WEIR_ setting in the environment is named in a warning; the launcher's and scripts' own are not. */
class WeirConfigTyposTest {
    @Test
    void aVariableAnEditOrTwoFromASettingIsNamedWithTheSettingMeant() {
        Map<String, String> env = new HashMap<>();
        env.put("WEIR_HTTP_PROT", "9000");                  // swapped letters
        env.put("WEIR_HTTP_SHED_BUDGET_FRACTON", "0.2");    // a letter dropped
        env.put("WEIR_HTTP_PORT", "9100");                  // a setting
        // other WEIR_ variables of the launcher, CI and the scripts
        for (String other : new String[] {"WEIR_CONFIG", "WEIR_JAVA_HOME", "WEIR_JAVA_OPTS", "WEIR_CUBLAS_LIB",
                "WEIR_NVRTC_LIB", "WEIR_DEMO_REPO", "WEIR_PROBE_RANKER", "WEIR_PROBE_MODERATION", "WEIR_DEVICE_SEED",
                "WEIR_DEVICE_POLICIES", "WEIR_DEVICE_CONNECTIONS", "WEIR_DEVICE_GENERATOR", "WEIR_DEVICE_ROUNDS",
                "WEIR_DEVICE_FRACTIONS", "WEIR_DEVICE_CPU_PLAN", "WEIR_DEVICE_CLIENT_DEADLINE", "HOME", "PATH"}) {
            env.put(other, "x");
        }
        assertThat(WeirConfig.suspectedTypos(env)).containsExactly(
                "WEIR_HTTP_PROT (did you mean WEIR_HTTP_PORT?)",
                "WEIR_HTTP_SHED_BUDGET_FRACTON (did you mean WEIR_HTTP_SHED_BUDGET_FRACTION?)");
        assertThat(WeirConfig.from(new io.vertx.core.json.JsonObject(), env).httpPort()).isEqualTo(9100);
    }
}
