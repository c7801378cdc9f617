package io.weir.batcher.internal;

import io.weir.batcher.InferenceRequest;
import io.weir.batcher.InferenceResult;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * An admitted request (or one part of a split request) on its way through a lane. It is answered exactly once:
 * {@code answered} flips once, and any second attempt is refused and counted in {@code duplicates} (a metric that must
 * stay 0; the stress test asserts it), so a bug that would answer twice shows up instead of being hidden by
 * {@code CompletableFuture}'s own idempotence.
 */
public final class Pending {
    final InferenceRequest request;
    final long deadlineNanos;
    private final Completion completion;
    private final LongAdder duplicates;
    private final AtomicBoolean answered = new AtomicBoolean();

    public Pending(InferenceRequest request, long deadlineNanos, Completion completion, LongAdder duplicates) {
        this.request = request;
        this.deadlineNanos = deadlineNanos;
        this.completion = completion;
        this.duplicates = duplicates;
    }

    public InferenceRequest request() {
        return request;
    }

    public long deadlineNanos() {
        return deadlineNanos;
    }

    int rows() {
        return request.rows();
    }

    boolean succeed(InferenceResult result) {
        if (!answered.compareAndSet(false, true)) {
            duplicates.increment();
            return false;
        }
        completion.succeed(result);
        return true;
    }

    boolean fail(Throwable error) {
        if (!answered.compareAndSet(false, true)) {
            duplicates.increment();
            return false;
        }
        completion.fail(error);
        return true;
    }

    boolean answered() {
        return answered.get();
    }

    /** Another part of this split request failed it already (see {@link Completion#abandoned}). */
    boolean abandoned() {
        return completion.abandoned();
    }
}
