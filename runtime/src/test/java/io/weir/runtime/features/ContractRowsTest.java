package io.weir.runtime.features;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link ContractRows} driven directly, as a streaming reader does, against {@link FeatureContract#encode} on the
 * same request; the gateway's RankBodyReaderTest covers it through real JSON. Here the parts a parser never exercises:
 * a categorical value handed over as characters at an offset into a larger array.
 */
class ContractRowsTest {
    private static final FeatureContract CONTRACT = FeatureContract.parse(new JsonObject("""
            {"version":"r-1","api":"rank","input":"features","output":"score","fields":[
              {"name":"user","path":"request.user_id","type":"categorical","buckets":32},
              {"name":"price","path":"candidate.features.price","type":"numeric","mean":1.5,"std":2.0},
              {"name":"category","path":"candidate.features.category","type":"categorical","buckets":1009}]}"""));

    @Test
    void charactersAtAnOffsetHashAsTheirString() {
        String[] categories = {"garden", "日本-tools", "x\uD83D\uDE00y", "é"};
        ContractRows rows = ContractRows.forContract(CONTRACT);
        int features = rows.child(rows.candidateRoot(), "features");
        int price = rows.child(features, "price");
        int category = rows.child(features, "category");
        int user = rows.child(rows.requestRoot(), "user_id");
        rows.start();
        char[] u = "##user-7##".toCharArray();
        rows.text(user, u, 2, 6);
        JsonArray candidates = new JsonArray();
        for (int i = 0; i < categories.length; i++) {
            rows.startRow();
            char[] padded = ("<<<" + categories[i] + ">>").toCharArray();
            rows.text(category, padded, 3, categories[i].length());
            rows.number(price, i + 0.25);
            rows.endRow();
            candidates.add(new JsonObject().put("features", new JsonObject().put("price", i + 0.25).put("category", categories[i])));
        }
        float[] streamed = rows.finish().floats();

        float[] parsed = CONTRACT.encode(new JsonObject().put("user_id", "user-7").put("candidates", candidates)).floats();
        assertThat(streamed).containsExactly(parsed);
    }
}
