package io.weir.batcher.internal;

import io.weir.batcher.InferenceResult;
import io.weir.runtime.ErrorCode;
import io.weir.runtime.InferenceException;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelHandle;
import io.weir.runtime.Tensor;
import io.weir.runtime.TensorSpec;
import io.weir.runtime.WeirException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;

/**
 * Computes formed batches: picks the backend per batch, runs it on that backend's executor, answers each request
 * with its own rows, and falls back to the CPU when the preferred backend is unhealthy, saturated or fails.
 *
 * <p>Design note. {@link #start} runs on the batching thread: it takes the model lease (released exactly once, in
 * {@link #finish}), chooses the backend and counts the batch in flight. {@link #run} runs on a worker: it drops
 * requests that expired while queued for the worker, joins the requests' inputs (a view: the backend copies each
 * request's rows once, into its own input memory), computes, checks the outputs and scatters them.
 * A failure on a non-CPU backend resubmits the <em>same</em> batch (same requests, none answered yet) to the CPU
 * pool; only the last attempt answers, so every request is answered exactly once whatever fails, an {@code Error}
 * included. A non-device failure of a multi-request batch on the CPU reruns its requests one by one, so one malformed
 * request does not fail its batch-mates. What a device call says of the device's health ({@link Backends.Observed}'s
 * breaker): a success, a failure on the device's fault, or nothing (every request expired before it ran, or a
 * request's own fault); after a cool-down the breaker grants one trial batch ({@link Backends#claim}).
 */
final class BatchRunner {
    private final Lane lane;

    BatchRunner(Lane lane) {
        this.lane = lane;
    }

    void start(List<Pending> requests, int rows, long now) {
        ModelHandle handle = lane.lease().orElse(null);
        if (handle == null) {
            WeirException e = WeirException.unavailable(lane.key + " is not loaded");
            requests.forEach(p -> p.fail(e));
            return;
        }
        long deadline = Long.MAX_VALUE;
        for (Pending p : requests) {
            deadline = Math.min(deadline, p.deadlineNanos);
        }
        String chosen = Backends.CPU;
        String preferred = null;
        String reason = null;
        boolean trial = false;
        for (String b : handle.backends()) {
            if (b.equals(Backends.CPU)) {
                break;
            }
            if (preferred == null) {
                preferred = b;
            }
            reason = lane.backends.passOver(b, lane.key, rows, deadline - now);
            if (reason == null) {
                Backends.Claim claim = lane.backends.claim(b);
                if (claim == Backends.Claim.REFUSED) {
                    reason = "unhealthy"; // another batch holds the device's one trial after its cool-down
                    continue;
                }
                chosen = b;
                trial = claim == Backends.Claim.TRIAL;
                break;
            }
        }
        boolean fellBack = preferred != null && !chosen.equals(preferred);
        if (fellBack) {
            lane.metrics.fellBack(preferred, chosen, reason);
        }
        Batch batch = new Batch(requests, rows, handle, preferred, reason);
        lane.inFlightBatches.incrementAndGet();
        lane.inFlightRows.addAndGet(rows);
        submit(batch, chosen, fellBack, trial);
    }

    private void submit(Batch batch, String backend, boolean fellBack, boolean trial) {
        if (!backend.equals(Backends.CPU)) {
            lane.backends.observed(backend).started();
        }
        try {
            lane.backends.executor(backend).execute(() -> run(batch, backend, fellBack, trial));
        } catch (RuntimeException e) {
            deviceDone(backend, Outcome.NOT_RUN, trial);
            WeirException err = e instanceof RejectedExecutionException
                    ? WeirException.unavailable("the dispatcher is shutting down")
                    : new WeirException(ErrorCode.INTERNAL, "could not hand a batch to the " + backend + " executor", 0, e);
            batch.requests().forEach(p -> p.fail(err));
            finish(batch);
        }
    }

    void run(Batch batch, String backend, boolean fellBack, boolean trial) {
        long start = lane.ticker.nanos();
        List<Pending> live = new ArrayList<>(batch.requests().size());
        int rows = 0;
        for (Pending p : batch.requests()) {
            if (p.answered()) {
                continue;
            }
            if (p.abandoned()) {
                // Another part of its request failed: the answer is given, this part's compute would be thrown away.
                p.fail(WeirException.unavailable("another part of this request failed"));
                continue;
            }
            if (p.deadlineNanos - start <= 0) {
                lane.metrics.timedOut("before_compute");
                p.fail(WeirException.deadline("deadline passed after " + (start - p.request.enqueueNanos()) / 1_000_000
                        + " ms waiting for a worker"));
            } else {
                live.add(p);
                rows += p.rows();
            }
        }
        if (live.isEmpty()) {
            deviceDone(backend, Outcome.NOT_RUN, trial); // nothing ran: says nothing of the device's health
            finish(batch);
            return;
        }
        ModelHandle handle = batch.handle();
        Map<String, Tensor> out;
        long end;
        try {
            LoadedModel model = handle.on(backend).orElse(handle.cpu());
            out = model.run(concat(live));
            end = lane.ticker.nanos();
            checkOutputs(out, rows, handle);
        } catch (InferenceException | RuntimeException | Error e) {
            failed(batch, live, backend, fellBack, trial, e);
            return;
        }
        deviceDone(backend, Outcome.OK, trial);
        complete(batch, live, out, rows, backend, start, end, fellBack, () -> finish(batch));
    }

    /**
     * The batch's call failed: a non-CPU backend's batch goes to the CPU as it is (nobody answered yet); on the CPU a
     * request's fault in a batch of several reruns them one by one, anything else fails them all. An {@code Error}
     * (out of memory, a native library that failed to link) is handled like any failure, so that the requests are
     * answered and the lane's slot and the model lease are given back, and then rethrown when the JVM itself is in
     * trouble.
     */
    private void failed(Batch batch, List<Pending> live, String backend, boolean fellBack, boolean trial, Throwable e) {
        boolean requestFault = e instanceof InferenceException ie && !ie.deviceFault() || e instanceof IllegalArgumentException;
        // A request's own fault (an index out of range of the model's table) says nothing about the device: counted
        // as a device failure, a few malformed requests would take a healthy GPU out of rotation.
        deviceDone(backend, requestFault ? Outcome.NOT_RUN : Outcome.FAILED, trial);
        try {
            if (!backend.equals(Backends.CPU)) {
                lane.metrics.fellBack(backend, Backends.CPU, "failure");
                submit(new Batch(live, batch.rows(), batch.handle(), backend, "failure"), Backends.CPU, true, false);
                return;
            }
            if (live.size() > 1 && requestFault) {
                for (Pending p : live) {
                    runAlone(batch, p, fellBack);
                }
            } else {
                lane.metrics.failed(backend);
                WeirException err = new WeirException(ErrorCode.INTERNAL, "inference failed on " + backend, 0, e);
                live.forEach(p -> p.fail(err));
            }
            finish(batch);
        } finally {
            if (e instanceof VirtualMachineError vm) {
                throw vm;
            }
        }
    }

    private void runAlone(Batch batch, Pending p, boolean fellBack) {
        long start = lane.ticker.nanos();
        Map<String, Tensor> out;
        long end;
        try {
            out = batch.handle().cpu().run(p.request.inputs());
            end = lane.ticker.nanos();
            checkOutputs(out, p.rows(), batch.handle());
        } catch (InferenceException | RuntimeException | Error e) {
            lane.metrics.failed(Backends.CPU);
            p.fail(new WeirException(ErrorCode.INTERNAL, "inference failed on cpu", 0, e));
            if (e instanceof VirtualMachineError vm) {
                throw vm;
            }
            return;
        }
        complete(batch, List.of(p), out, p.rows(), Backends.CPU, start, end, fellBack, () -> { });
    }

    /** What a non-CPU backend's call says about the device's health. */
    private enum Outcome { OK, FAILED, NOT_RUN }

    private void deviceDone(String backend, Outcome outcome, boolean trial) {
        if (!backend.equals(Backends.CPU)) {
            Backends.Observed device = lane.backends.observed(backend);
            switch (outcome) {
                case OK -> device.finished(true, trial);
                case FAILED -> device.finished(false, trial);
                case NOT_RUN -> device.abandoned(trial);
            }
        }
    }

    private static Map<String, Tensor> concat(List<Pending> live) {
        if (live.size() == 1) {
            return live.getFirst().request.inputs();
        }
        Map<String, Tensor> inputs = new LinkedHashMap<>();
        for (String name : live.getFirst().request.inputs().keySet()) {
            List<Tensor> parts = new ArrayList<>(live.size());
            for (Pending p : live) {
                parts.add(p.request.inputs().get(name));
            }
            inputs.put(name, Tensor.joinRows(parts));
        }
        return inputs;
    }

    /**
     * Every declared output present, and every output with a row per input row, so that each request's rows can be
     * taken from it. Checked against the version the batch ran on: a reload while it ran may declare other outputs.
     */
    private static void checkOutputs(Map<String, Tensor> out, int rows, ModelHandle handle) throws InferenceException {
        for (TensorSpec spec : handle.config().outputs()) {
            if (!out.containsKey(spec.name())) {
                throw new InferenceException("backend returned no output '" + spec.name() + "'", true);
            }
        }
        for (Map.Entry<String, Tensor> e : out.entrySet()) {
            Tensor t = e.getValue();
            if (t == null || t.rows() != rows) {
                throw new InferenceException("backend returned " + t + " for output '" + e.getKey() + "' of a "
                        + rows + "-row batch", true);
            }
        }
    }

    /**
     * Records the batch and answers its requests. {@code beforeAnswers} runs after the latency model has seen this
     * batch and before any caller is answered, so that a caller's next request meets an up-to-date model and lane
     * (the batch no longer counted in flight).
     */
    private void complete(Batch batch, List<Pending> live, Map<String, Tensor> out, int rows, String backend,
                          long start, long end, boolean fellBack, Runnable beforeAnswers) {
        long compute = end - start;
        if (!lane.closed()) {
            // a batch drained at an unload finishes after the version's latency model is forgotten: recording it
            // would bring the model back for a version that is gone (or into a reload of it, which starts afresh)
            lane.backends.fit(lane.key, backend).observe(rows, compute);
        }
        lane.metrics.batch(backend, rows, live.size(), compute);
        beforeAnswers.run();
        long worst = 0;
        long worstBudget = 1;
        int offset = 0;
        for (Pending p : live) {
            Map<String, Tensor> mine;
            if (live.size() == 1) {
                mine = out;
            } else {
                mine = new LinkedHashMap<>();
                for (Map.Entry<String, Tensor> e : out.entrySet()) {
                    mine.put(e.getKey(), e.getValue().sliceRows(offset, offset + p.rows()));
                }
            }
            offset += p.rows();
            long enqueue = p.request.enqueueNanos();
            lane.metrics.request(backend, start - enqueue, end - enqueue);
            if (end - enqueue > worst) {
                worst = end - enqueue;
                worstBudget = p.deadlineNanos - enqueue;
            }
            p.succeed(new InferenceResult(mine, backend, start - enqueue, compute, rows, fellBack));
        }
        lane.settings().policy().onBatchDone(rows, compute, worst, worstBudget);
    }

    private void finish(Batch batch) {
        lane.inFlightBatches.decrementAndGet();
        lane.inFlightRows.addAndGet(-batch.rows());
        batch.handle().release();
        lane.poke();
    }
}
