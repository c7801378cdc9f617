package io.weir.batcher.policy;

/** {@code none}: every request is its own batch, started as soon as a slot is free. The baseline. */
final class NoBatchingPolicy implements BatchPolicy {
    private final int maxRows;

    NoBatchingPolicy(int maxRows) {
        this.maxRows = maxRows;
    }

    @Override
    public String name() {
        return "none";
    }

    @Override
    public int maxBatchRows() {
        return maxRows;
    }

    @Override
    public int maxBatchRequests() {
        return 1;
    }

    @Override
    public Decision decide(PendingView pending, long nowNanos) {
        return pending.freeSlots() > 0 ? new Flush(maxRows, maxBatchRequests(), Flush.Reason.SINGLE) : Wait.FOR_CHANGE;
    }
}
