package io.weir.gateway;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.weir.batcher.InferenceDispatcher;
import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;
import io.weir.batcher.Priority;
import io.weir.runtime.ModelConfig;
import io.weir.runtime.ModelHandle;
import io.weir.runtime.ModelKey;
import io.weir.runtime.ModelRegistry;
import io.weir.runtime.Tensor;
import io.weir.runtime.WeirException;
import io.weir.runtime.repository.Versions;

import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The gateway's one way into inference: resolves which version serves a request, sets its deadline and hands it to
 * the dispatcher, completing on the caller's Vert.x context. Stateless apart from its collaborators; thread-safe.
 */
public final class ModelService {
    private final ModelRegistry registry;
    private final InferenceDispatcher dispatcher;
    private volatile boolean started;
    private volatile String startupFailure;

    public ModelService(ModelRegistry registry, InferenceDispatcher dispatcher) {
        this.registry = registry;
        this.dispatcher = dispatcher;
    }

    /**
     * Ready to take traffic: every model version loaded and warmed, start-up finished (the rollout file applied: until
     * then traffic would go to each model's newest version, not the primary the operator configured), and nothing
     * that start-up needed failed (an invalid rollout file, say: serving without the operator's rollout would route
     * traffic they did not ask for).
     */
    public boolean ready() {
        return started && startupFailure == null && registry.ready();
    }

    /** Marks start-up as finished: the models loaded (each version on its own, failures recorded) and rollouts started. */
    public void startupFinished() {
        started = true;
    }

    /** Marks start-up as failed: readiness stays false and the reason is logged and shown by the admin API. */
    public void startupFailed(String reason) {
        startupFailure = reason;
    }

    /** Whether start-up has finished or failed. */
    public boolean startupSettled() {
        return started || startupFailure != null;
    }

    /** Why start-up failed, or null. */
    public String startupFailure() {
        return startupFailure;
    }

    public ModelRegistry registry() {
        return registry;
    }

    public InferenceDispatcher dispatcher() {
        return dispatcher;
    }

    /**
     * The version to serve: the requested one, else the newest READY version.
     *
     * @throws WeirException NOT_FOUND for an unknown model or version, UNAVAILABLE for a known one not READY
     */
    public ModelKey resolve(String model, String requestedVersion) {
        if (!registry.knows(model)) {
            throw WeirException.notFound("unknown model '" + model + "'");
        }
        if (requestedVersion != null) {
            if (!Versions.isVersion(requestedVersion)) {
                throw WeirException.invalid("model_version must be a semantic version like 1.0.0, was '" + requestedVersion + "'");
            }
            ModelKey key = new ModelKey(model, requestedVersion);
            ModelRegistry.Status s = registry.status(key).orElseThrow(
                    () -> WeirException.notFound("model '" + model + "' has no version " + requestedVersion));
            if (s.state() != ModelRegistry.State.READY) {
                if (s.state() == ModelRegistry.State.UNLOADED) {
                    throw WeirException.notFound("model '" + model + "' version " + requestedVersion + " is not loaded");
                }
                throw WeirException.unavailable("model '" + model + "' version " + requestedVersion + " is " + s.state());
            }
            return key;
        }
        return registry.latestReady(model).map(v -> new ModelKey(model, v))
                .orElseThrow(() -> WeirException.unavailable("model '" + model + "' has no ready version"));
    }

    /** The config of a READY version (for validation before encoding). */
    public ModelConfig config(ModelKey key) {
        ModelHandle h = registry.peek(key).orElseThrow(() -> WeirException.unavailable(key + " is not loaded"));
        return h.config();
    }

    /**
     * Builds a request whose deadline is the model's latency budget or {@code timeoutMillis}, whichever is shorter.
     *
     * @param timeoutMillis the client's timeout, or {@code <= 0} for none
     */
    public InferenceRequest request(ModelKey key, Map<String, Tensor> inputs, int rows, long timeoutMillis, Priority priority) {
        return request(key, inputs, rows, timeoutMillis, 0, priority);
    }

    /**
     * As {@link #request(ModelKey, Map, int, long, Priority)}, with {@code unseenNanos} of the deadline already
     * spent where Weir could not see it (an event loop's backlog: {@code http.deadline.lag.reserve}).
     */
    public InferenceRequest request(ModelKey key, Map<String, Tensor> inputs, int rows, long timeoutMillis, long unseenNanos,
                                    Priority priority) {
        ModelConfig config = config(key);
        long now = dispatcher.ticker().nanos();
        long budget = config.latencyBudgetNanos();
        // toNanos saturates: a timeout of Long.MAX_VALUE ms (a common "no limit") is longer than the budget, not negative.
        long timeout = timeoutMillis > 0 ? Math.min(budget, TimeUnit.MILLISECONDS.toNanos(timeoutMillis)) : budget;
        long deadline = now + timeout - Math.max(0, unseenNanos);
        return new InferenceRequest(key, inputs, rows, now, deadline, priority);
    }

    /** Hands a request to the dispatcher; the future completes on {@code context}. */
    public Future<InferenceResult> submit(Context context, InferenceRequest request) {
        return Future.fromCompletionStage(dispatcher.submit(request), context);
    }
}
