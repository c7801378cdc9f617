package io.weir.batcher.testing;

import io.weir.runtime.Ticker;

import java.util.concurrent.atomic.AtomicLong;

/** A clock the test moves. */
public final class FakeTicker implements Ticker {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);

    @Override
    public long nanos() {
        return now.get();
    }

    public void advance(long nanos) {
        now.addAndGet(nanos);
    }

    public void advanceMillis(double ms) {
        advance((long) (ms * 1_000_000));
    }
}
