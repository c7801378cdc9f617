package io.weir.batcher.testing;

import io.weir.runtime.Backend;
import io.weir.runtime.InferenceException;
import io.weir.runtime.LoadedModel;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelKey;
import io.weir.runtime.Tensor;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;
import java.util.function.IntToLongFunction;

/**
 * A real backend for tests that computes {@code y = 2·x + offset} row by row, so that a row delivered to the wrong
 * request, or rows out of order, give a wrong answer. The test controls its latency (advancing a {@link FakeTicker}
 * by {@code latency(rows)}, no sleeping; or, for tests on real threads, a random real duration), makes calls fail
 * (the next few, every one, or each with a probability), or holds them at a gate. A simulation spends its simulated
 * compute time in {@link #beforeCompute}.
 */
public final class AffineBackend implements Backend {
    private final String name;
    private final FakeTicker clock;
    private volatile IntToLongFunction latency = rows -> 0;
    private volatile IntConsumer beforeCompute = rows -> { };
    private volatile boolean keepBatches = true;
    private final AtomicInteger failuresToInject = new AtomicInteger();
    private volatile boolean failAlways;
    private volatile boolean deviceFault = true;
    private volatile Semaphore gate;
    private final List<List<Float>> batches = new CopyOnWriteArrayList<>();
    private final AtomicInteger calls = new AtomicInteger();
    private final AtomicInteger injectedFailures = new AtomicInteger();
    private volatile CountDownLatch entered = new CountDownLatch(0);
    private volatile Throwable throwNext;
    private volatile double failureChance;
    private volatile int sleepMaxMicros;
    private final java.util.SplittableRandom chance = new java.util.SplittableRandom(7);

    /** @param clock advanced by each call's latency; null for a backend without simulated latency */
    public AffineBackend(String name, FakeTicker clock) {
        this.name = name;
        this.clock = clock;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Availability availability() {
        return Availability.yes();
    }

    @Override
    public LoadedModel load(ModelArtifact artifact) {
        return new Model(artifact.key());
    }

    public void latency(IntToLongFunction nanosForRows) {
        this.latency = nanosForRows;
    }

    /** Called on the calling thread with each batch's rows, before it computes (after the clock's latency). */
    public void beforeCompute(IntConsumer hook) {
        this.beforeCompute = hook;
    }

    /**
     * Whether {@link #batches()} keeps every batch's offsets (it does until told otherwise): a simulation runs hundreds
     * of thousands of batches, which that list would hold and copy.
     */
    public void keepBatches(boolean keep) {
        this.keepBatches = keep;
    }

    public void failNext(int n) {
        failuresToInject.set(n);
    }

    /** The next call throws {@code t} (an unchecked exception or an {@code Error}) instead of computing. */
    public void throwNext(Throwable t) {
        if (!(t instanceof RuntimeException) && !(t instanceof Error)) {
            throw new IllegalArgumentException("only unchecked throwables: " + t);
        }
        this.throwNext = t;
    }

    /** Each call fails as a device fault with this probability (drawn from a seeded generator, under its lock). */
    public void failWithChance(double probability) {
        this.failureChance = probability;
    }

    /** Each call lasts a real (wall-clock) time drawn up to {@code maxMicros}, for tests on real threads. */
    public void sleepUpTo(int maxMicros) {
        this.sleepMaxMicros = maxMicros;
    }

    private boolean draw(double probability) {
        synchronized (chance) {
            return chance.nextDouble() < probability;
        }
    }

    private long drawMicros(int max) {
        synchronized (chance) {
            return chance.nextLong(max + 1L);
        }
    }

    public void failAlways(boolean fail, boolean asDeviceFault) {
        this.failAlways = fail;
        this.deviceFault = asDeviceFault;
    }

    /** Calls block until {@link #release()}; {@code entered} counts down as calls arrive. */
    public void hold(int expectedEntries) {
        gate = new Semaphore(0);
        entered = new CountDownLatch(expectedEntries);
    }

    public void release() {
        Semaphore g = gate;
        gate = null;
        if (g != null) {
            g.release(Integer.MAX_VALUE / 2);
        }
    }

    public boolean awaitEntered(long seconds) throws InterruptedException {
        return entered.await(seconds, TimeUnit.SECONDS);
    }

    /** The offsets column of every batch computed since {@link #reset()}, in call order. */
    public List<List<Float>> batches() {
        return batches;
    }

    public int calls() {
        return calls.get();
    }

    /** Calls that failed by injection since this backend was made. */
    public int injectedFailures() {
        return injectedFailures.get();
    }

    public void reset() {
        batches.clear();
        calls.set(0);
    }

    private final class Model implements LoadedModel {
        private final ModelKey key;

        Model(ModelKey key) {
            this.key = key;
        }

        @Override
        public ModelKey key() {
            return key;
        }

        @Override
        public String backend() {
            return name;
        }

        @Override
        public Map<String, Tensor> run(Map<String, Tensor> inputs) throws InferenceException {
            calls.incrementAndGet();
            entered.countDown();
            Semaphore g = gate;
            if (g != null) {
                g.acquireUninterruptibly();
            }
            Throwable t = throwNext;
            if (t != null) {
                throwNext = null;
                if (t instanceof Error e) {
                    throw e;
                }
                throw (RuntimeException) t;
            }
            float[] x = inputs.get("x").floats();
            float[] offset = inputs.get("offset").floats();
            int rows = x.length;
            if (clock != null) {
                clock.advance(latency.applyAsLong(rows));
            }
            beforeCompute.accept(rows);
            int sleep = sleepMaxMicros;
            if (sleep > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(drawMicros(sleep) * 1_000);
            }
            double p = failureChance;
            if (failAlways || failuresToInject.getAndUpdate(n -> Math.max(0, n - 1)) > 0 || (p > 0 && draw(p))) {
                injectedFailures.incrementAndGet();
                throw new InferenceException(name + " failed (injected)", deviceFault);
            }
            float[] y = new float[rows];
            for (int i = 0; i < rows; i++) {
                y[i] = 2 * x[i] + offset[i];
            }
            if (keepBatches) {
                Float[] seen = new Float[rows];
                for (int i = 0; i < rows; i++) {
                    seen[i] = offset[i];
                }
                batches.add(List.of(seen));
            }
            return Map.of("y", Tensor.ofFloats(new long[] {rows, 1}, y));
        }

        @Override
        public void close() {
        }
    }
}
