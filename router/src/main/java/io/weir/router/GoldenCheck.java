package io.weir.router;

import java.util.concurrent.CompletionStage;

/**
 * Replays a model version's golden set and judges it against the model's acceptance thresholds. The rollout guard
 * runs it once per candidate version and will neither advance nor promote a candidate whose check has not passed;
 * a failed check rolls the candidate back.
 */
@FunctionalInterface
public interface GoldenCheck {

    CompletionStage<Verdict> check(String model, String version);

    /** The outcome; {@code reason} says what was measured (and, on failure, which threshold was missed). */
    record Verdict(boolean passed, String reason) {
        public static Verdict pass(String reason) {
            return new Verdict(true, reason);
        }

        public static Verdict fail(String reason) {
            return new Verdict(false, reason);
        }
    }
}
