import io.vertx.core.json.JsonObject;
import io.weir.runtime.ModelArtifact;
import io.weir.runtime.ModelKey;
import io.weir.runtime.demo.DemoRepository;
import io.weir.runtime.features.FeatureContract;
import io.weir.runtime.repository.ModelRepository;
import java.util.Random;

/**
 * What encoding a parsed 50-candidate ranker request costs ({@code FeatureContract.encode} on the demo ranker 1.1.0's
 * contract), 100,000 encodes a round, eight rounds. Compares gateway builds, not code paths in one JVM: run it on the
 * jar before a change and the jar after (docs/PERF.md, "Rank requests read on the parsed tree's maps"):
 *
 *   ORT_DISABLE_TELEMETRY=1 $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp <gateway jar> perf/micro/RankEncodeCost.java
 */
public final class RankEncodeCost {
    public static void main(String[] a) throws Exception {
        ModelArtifact art = ModelRepository.open(DemoRepository.materialize()).read(new ModelKey("ranker", "1.1.0"));
        FeatureContract c = art.config().featureContract().orElseThrow();
        Random random = new Random(1);
        String[] bodies = new String[64];
        for (int k = 0; k < bodies.length; k++) {
            StringBuilder b = new StringBuilder("{\"user_id\":\"user-" + random.nextInt(5000) + "\",\"context\":{\"locale\":\"en-US\",\"ts\":\"2026-11-26T10:15:00Z\"},\"candidates\":[");
            for (int i = 0; i < 50; i++) {
                if (i > 0) b.append(',');
                b.append("{\"item_id\":\"i-").append(random.nextInt(100000)).append("\",\"features\":{\"price\":").append(random.nextInt(10000) / 100.0)
                 .append(",\"category\":\"cat-").append(random.nextInt(40)).append("\",\"ctr\":").append(random.nextFloat()).append("}}");
            }
            bodies[k] = b.append("]}").toString();
        }
        JsonObject[] parsed = new JsonObject[bodies.length];
        for (int k = 0; k < bodies.length; k++) parsed[k] = new JsonObject(bodies[k]);
        for (int round = 0; round < 8; round++) {
            long sink = 0, t0 = System.nanoTime();
            int n = 100_000;
            for (int i = 0; i < n; i++) sink += (long) c.encode(parsed[i & 63]).floats()[7];
            long t1 = System.nanoTime();
            System.out.printf("encode %.2f us (%d)%n", (t1 - t0) / 1e3 / n, sink);
        }
    }
}
