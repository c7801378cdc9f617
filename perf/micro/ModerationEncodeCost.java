import io.vertx.core.json.JsonObject;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelKey;
import io.weir.runtime.demo.DemoRepository;
import io.weir.runtime.features.FeatureContract;
import io.weir.runtime.repository.ModelRepository;
import java.util.Random;

/**
 * What encoding a parsed moderation request costs ({@code FeatureContract.encode} on the demo moderation contract:
 * 1024 hashed n-gram buckets), texts of 3-32 words as the sweep sends, 300,000 encodes a round, six rounds, with the
 * bytes each encode allocated (the thread's allocation counter). Compares
 * gateway builds: run it on the jar before a change and the jar after (docs/PERF.md, "Tried and reverted: a sparse
 * moderation row"):
 *
 *   ORT_DISABLE_TELEMETRY=1 $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp <gateway jar> perf/micro/ModerationEncodeCost.java
 */
public final class ModerationEncodeCost {
    static final String[] WORDS = {"thanks", "that", "was", "helpful", "great", "service", "terrible", "awful", "love", "this", "product", "never", "again", "buy", "the", "a", "fine", "ok", "spam", "click", "here", "free", "money", "win"};
    public static void main(String[] a) throws Exception {
        ModelArtifact art = ModelRepository.open(DemoRepository.materialize()).read(new ModelKey("moderation", "1.0.0"));
        FeatureContract c = art.config().featureContract().orElseThrow();
        Random random = new Random(1);
        JsonObject[] reqs = new JsonObject[64];
        for (int k = 0; k < reqs.length; k++) {
            StringBuilder t = new StringBuilder();
            for (int w = 3 + random.nextInt(30); w > 0 && t.length() < 280; w--) t.append(WORDS[random.nextInt(WORDS.length)]).append(' ');
            reqs[k] = new JsonObject(new JsonObject().put("text", t.toString().trim()).encode());
        }
        com.sun.management.ThreadMXBean mx = (com.sun.management.ThreadMXBean) java.lang.management.ManagementFactory.getThreadMXBean();
        for (int round = 0; round < 6; round++) {
            long sink = 0, a0 = mx.getCurrentThreadAllocatedBytes(), t0 = System.nanoTime();
            int n = 300_000;
            for (int i = 0; i < n; i++) sink += c.encode(reqs[i & 63]).length();
            long t1 = System.nanoTime(), a1 = mx.getCurrentThreadAllocatedBytes();
            System.out.printf("encode %.2f us, %.0f bytes allocated (%d)%n", (t1 - t0) / 1e3 / n, (a1 - a0) / (double) n, sink);
        }
    }
}
