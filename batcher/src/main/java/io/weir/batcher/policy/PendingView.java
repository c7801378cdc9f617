package io.weir.batcher.policy;

/**
 * What a policy sees of a model version's forming queue at one instant. Times are on the dispatcher's ticker; waits
 * count from each request's enqueue (when it entered the dispatcher), never from when the batcher dequeued it.
 */
public interface PendingView {

    /** Rows waiting (at least one request's worth when a policy is asked). */
    int rows();

    /** Requests waiting. */
    int requests();

    /** Enqueue time of the request that has waited longest. */
    long oldestEnqueueNanos();

    /** The earliest deadline among waiting requests. */
    long earliestDeadlineNanos();

    /** Batches this version may start now without queueing behind its own running batches. */
    int freeSlots();

    /** Batches that compute at the same time when every slot is busy (the workers available to this version). */
    int parallelism();

    /** Recent arrival rate, rows per second (an exponentially weighted estimate; 0 when unknown). */
    double arrivalRowsPerSecond();

    /** Compute time against batch size on the backend the next batch would most likely run on. */
    LatencyModel compute();

    /**
     * The share of the host's CPU in use, 0 to 1, recently (a smoothed sample, not a per-call reading); 0 when not
     * measured. Compute time alone does not show that the cores are shared with the HTTP path: this does.
     */
    default double cpuLoad() {
        return 0;
    }
}
