package io.weir.batcher.internal;

/** A ring slot. The producer sets {@code pending}; the batching thread takes it and clears the slot. */
public final class RequestSlot {
    Pending pending;
}
