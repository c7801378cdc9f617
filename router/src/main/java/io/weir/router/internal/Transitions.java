package io.weir.router.internal;

import io.weir.router.RolloutConfig;
import io.weir.runtime.WeirException;

import java.util.Objects;

/** The rollout changes shared by the admin operations and the guard. */
public final class Transitions {
    private Transitions() {
    }

    /** The canary becomes the primary; the canary (and a shadow of the same version) is cleared. */
    public static RolloutConfig promoted(RolloutConfig c) {
        if (c.canary() == null) {
            throw WeirException.invalid("model '" + c.model() + "' has no canary to promote");
        }
        RolloutConfig.Builder b = c.toBuilder().primary(c.canary()).canary(null).canaryWeight(0).stage(0)
                .status(RolloutConfig.Status.RUNNING, null);
        if (Objects.equals(c.shadow(), c.canary())) {
            b.shadow(null);
        }
        return b.build();
    }

    /** The canary gets no traffic, and no mirrored traffic either, until an operator starts it again. */
    public static RolloutConfig rolledBack(RolloutConfig c, String reason) {
        if (c.canary() == null) {
            throw WeirException.invalid("model '" + c.model() + "' has no canary to roll back");
        }
        RolloutConfig.Builder b = c.toBuilder().canaryWeight(0).status(RolloutConfig.Status.ROLLED_BACK, reason);
        if (Objects.equals(c.shadow(), c.canary())) {
            b.shadow(null);
        }
        return b.build();
    }

    public static RolloutConfig paused(RolloutConfig c, boolean paused) {
        return c.toBuilder().paused(paused).build();
    }

    /** The next stage; its weight is applied by the store's normalisation. */
    public static RolloutConfig advanced(RolloutConfig c) {
        if (c.stage() + 1 >= c.stages().size()) {
            throw WeirException.invalid("model '" + c.model() + "' is at its last stage");
        }
        return c.toBuilder().stage(c.stage() + 1).build();
    }
}
