import io.weir.gateway.RequestIds;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Supplier;

/**
 * What a generated request id costs: the gateway's {@link RequestIds#next()} against the baseline it replaced,
 * {@link UUID#randomUUID()} (one shared SecureRandom), each drawn by two threads at once as two event loops would,
 * three rounds alternating. Checks every thousandth id parses as a version-4 UUID. Run after a build (docs/PERF.md):
 *
 *   $JAVA_HOME/bin/java -cp gateway/target/classes perf/micro/RequestIdCost.java
 */
public final class RequestIdCost {
    private static final int THREADS = 2;
    private static final int IDS = 1_000_000;

    public static void main(String[] args) throws Exception {
        for (int round = 1; round <= 3; round++) {
            double baseline = nanosPerId(() -> UUID.randomUUID().toString());
            double weir = nanosPerId(RequestIds::next);
            System.out.printf("round %d: UUID.randomUUID %.0f ns an id, RequestIds.next %.0f ns (%.1fx)%n",
                    round, baseline, weir, baseline / weir);
        }
    }

    private static double nanosPerId(Supplier<String> ids) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> done = new ArrayList<>();
            long start = System.nanoTime();
            for (int t = 0; t < THREADS; t++) {
                done.add(pool.submit(() -> {
                    long chars = 0;   // every id is used, so none can be optimised away
                    for (int i = 0; i < IDS; i++) {
                        String id = ids.get();
                        chars += id.charAt(i % 36);
                        if (i % 1000 == 0 && UUID.fromString(id).version() != 4) {
                            throw new IllegalStateException("not a version-4 UUID: " + id);
                        }
                    }
                    return chars;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            return (System.nanoTime() - start) / (double) IDS;
        } finally {
            pool.shutdown();
        }
    }
}
