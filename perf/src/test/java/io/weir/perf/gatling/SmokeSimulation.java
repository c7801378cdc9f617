package io.weir.perf.gatling;

import io.gatling.javaapi.core.ChainBuilder;
import io.gatling.javaapi.core.ScenarioBuilder;
import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Iterator;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static io.gatling.javaapi.core.CoreDsl.StringBody;
import static io.gatling.javaapi.core.CoreDsl.constantUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.exec;
import static io.gatling.javaapi.core.CoreDsl.global;
import static io.gatling.javaapi.core.CoreDsl.jsonPath;
import static io.gatling.javaapi.core.CoreDsl.percent;
import static io.gatling.javaapi.core.CoreDsl.rampUsersPerSec;
import static io.gatling.javaapi.core.CoreDsl.randomSwitch;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.core.CoreDsl.details;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

/**
 * The smoke run that {@code verify} does against the gateway the build starts: open injection (arrivals do not wait
 * for responses, so a slow server cannot hide its queueing: Gatling's answer to coordinated omission, as long as
 * Gatling itself keeps to its schedule, since a user it starts late is timed from then, not from its scheduled
 * arrival), ≤30 s, all three APIs, and assertions on p95 against the seed SLOs (rank ≤120 ms, moderate ≤80 ms) and on the error rate.
 * Traffic goes only to the loopback address in {@code weir.baseUrl}.
 */
public class SmokeSimulation extends Simulation {
    private static final String BASE = System.getProperty("weir.baseUrl", "http://127.0.0.1:8080");
    private static final double RATE = Double.parseDouble(System.getProperty("weir.smoke.rate", "40"));
    private static final int SECONDS = Integer.parseInt(System.getProperty("weir.smoke.seconds", "20"));

    static {
        if (!URI.create(BASE).getHost().matches("127\\.\\d+\\.\\d+\\.\\d+|localhost|\\[::1\\]")) {
            throw new IllegalArgumentException("load tests target loopback only, not " + BASE);
        }
    }

    private static final String[] CATEGORIES = {"books", "electronics", "garden", "toys", "fashion", "sports", "music", "food"};
    private static final String[] WORDS = {"great", "product", "thanks", "awful", "idiot", "love", "hate", "stupid", "nice", "help"};

    private static Iterator<Map<String, Object>> feeder() {
        Random random = new Random(42);
        Supplier<Map<String, Object>> next = () -> {
            int n = 1 + random.nextInt(50);
            StringBuilder c = new StringBuilder();
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    c.append(',');
                }
                c.append("{\"item_id\":\"item-").append(random.nextInt(100000)).append("\",\"features\":{\"price\":")
                        .append(String.format("%.2f", 1 + random.nextDouble() * 200)).append(",\"category\":\"")
                        .append(CATEGORIES[random.nextInt(CATEGORIES.length)]).append("\"}}");
            }
            StringBuilder text = new StringBuilder();
            for (int i = 0, w = 3 + random.nextInt(20); i < w; i++) {
                text.append(WORDS[random.nextInt(WORDS.length)]).append(' ');
            }
            return Map.of("user", "user-" + random.nextInt(5000), "candidates", c.toString(), "text", text.toString().trim(),
                    "x", random.nextInt(1000));
        };
        return Stream.generate(next).iterator();
    }

    private static final ChainBuilder RANK = exec(http("rank").post("/v1/rank:score")
            .body(StringBody("{\"user_id\":\"#{user}\",\"context\":{\"locale\":\"en-US\",\"ts\":\"2026-11-26T10:15:00Z\"},"
                    + "\"candidates\":[#{candidates}],\"request_id\":\"smoke-#{user}\"}")).asJson()
            .check(status().is(200), jsonPath("$.scores[0].score").exists()));

    private static final ChainBuilder MODERATE = exec(http("moderate").post("/v1/moderate")
            .body(StringBody("{\"text\":\"#{text}\"}")).asJson()
            .check(status().is(200), jsonPath("$.label").exists()));

    private static final ChainBuilder ECHO = exec(http("v2_echo").post("/v2/models/echo/infer")
            .body(StringBody("{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,16],\"data\":[#{x},1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]},"
                    + "{\"name\":\"ids\",\"datatype\":\"INT64\",\"shape\":[1,4],\"data\":[1,2,3,#{x}]},"
                    + "{\"name\":\"text\",\"datatype\":\"BYTES\",\"shape\":[1,1],\"data\":[\"hello\"]}]}")).asJson()
            .check(status().is(200), jsonPath("$.outputs[0].data[0]").ofInt().is(session -> session.getInt("x"))));

    private final HttpProtocolBuilder protocol = http.baseUrl(BASE).contentTypeHeader("application/json").shareConnections();

    private final ScenarioBuilder mixed = scenario("smoke").feed(feeder())
            .exec(randomSwitch().on(
                    percent(50.0).then(RANK),
                    percent(30.0).then(MODERATE),
                    percent(20.0).then(ECHO)));

    {
        setUp(mixed.injectOpen(rampUsersPerSec(1).to(RATE).during(5), constantUsersPerSec(RATE).during(SECONDS)))
                .protocols(protocol)
                .assertions(
                        global().failedRequests().percent().lt(0.5),
                        details("rank").responseTime().percentile(95.0).lt(120),
                        details("moderate").responseTime().percentile(95.0).lt(80),
                        details("v2_echo").responseTime().percentile(95.0).lt(50));
    }

    @Override
    public void before() {
        awaitReady(Duration.ofSeconds(120));
    }

    /** The gateway answers liveness at once and readiness once models are warmed: wait for readiness. */
    static void awaitReady(Duration limit) {
        HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        long end = System.nanoTime() + limit.toNanos();
        while (System.nanoTime() < end) {
            try {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(BASE + "/v2/health/ready"))
                        .timeout(Duration.ofSeconds(2)).build(), HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (Exception notYet) {
                // The server is still starting; poll again.
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException("gateway at " + BASE + " was not ready within " + limit);
    }
}
