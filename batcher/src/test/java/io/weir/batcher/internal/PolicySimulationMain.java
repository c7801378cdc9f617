package io.weir.batcher.internal;

import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The policy sweep on the simulated gateway ({@link PolicySimulation}), from the command line
 * ({@code perf/sim/policy-sim.sh}): every policy at every offered rate, for the ranker and {@code moderation} as the
 * Gatling sweeps run them, written as CSV (one row per policy and rate and seed) and summarised against the issue's
 * targets on standard output.
 *
 * <pre>
 * --models ranker,moderation   --policies none,fixed-0ms,...,adaptive (the sweeps' eight)
 * --rates-ranker 1200,3000,... (req/s)   --rates-moderation ...   --seeds 1,2,3
 * --warmup 2 --measure 4 (simulated seconds)   --out results.csv
 * --capacity-ranker 12000 --capacity-moderation 25000 (judge the targets: rates as multiples of these)
 * --host clean (GC pauses) | clean-no-gc    --batch-handoff-us 0    --background-cores 0.25
 * --gc 100,5,0.8 (eden MB, median pause ms, log-normal spread: other pauses than the clean host's)
 * --shed 0.35,20 (the edge guard's http.shed.budget.fraction and http.shed.min.lag.ms; the gateway's defaults)
 * --wake-us 120,1.3 (a parked batching thread's wake-up delay: median µs, log-normal spread; default none)
 * --set-moderation fixed_us=15,per_row_us=3.9,parse_us=15 (PolicySimulation.Model#with: any model's numbers)
 * --extra-policies 'adaptive-k8={"policy":"adaptive","pressure_batch_requests":8};...' (added to the known ones)
 * </pre>
 */
public final class PolicySimulationMain {
    static final Map<String, JsonObject> POLICIES = new LinkedHashMap<>();

    static {
        POLICIES.put("none", new JsonObject().put("policy", "none"));
        for (String ms : List.of("0", "0.5", "1", "2", "5", "10")) {
            POLICIES.put("fixed-" + ms + "ms", new JsonObject().put("policy", "fixed")
                    .put("max_queue_delay_us", (int) Math.round(Double.parseDouble(ms) * 1000)));
        }
        POLICIES.put("adaptive", new JsonObject().put("policy", "adaptive"));
    }

    private PolicySimulationMain() {
    }

    private static PolicySimulation.Model modelWith(String name, String settings) {
        PolicySimulation.Model model = PolicySimulation.Model.named(name);
        if (settings == null) {
            return model;
        }
        Map<String, String> pairs = new LinkedHashMap<>();
        for (String pair : settings.split(",")) {
            String[] kv = pair.split("=", 2);
            if (kv.length != 2) {
                throw new IllegalArgumentException("expected key=value in --set-" + name + ", got " + pair);
            }
            pairs.put(kv[0].trim(), kv[1].trim());
        }
        return model.with(pairs);
    }

    /** Option {@code --key}'s comma-separated numbers, exactly {@code n} of them ({@code what} names them). */
    private static double[] numbers(Map<String, String> opt, String key, int n, String what) {
        String[] parts = opt.get(key).split(",");
        if (parts.length != n) {
            throw new IllegalArgumentException("--" + key + " is " + what);
        }
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = Double.parseDouble(parts[i]);
        }
        return values;
    }

    public static void main(String[] args) throws IOException {
        // the registry logs every load of the simulated model; one per run is noise here
        Logger.getLogger("io.weir").setLevel(Level.WARNING);
        Map<String, String> opt = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --name value, got " + args[i]);
            }
            opt.put(args[i].substring(2), args[i + 1]);
        }
        Map<String, JsonObject> known = new LinkedHashMap<>(POLICIES);
        if (opt.containsKey("extra-policies")) {
            for (String named : opt.get("extra-policies").split(";")) {
                int eq = named.indexOf('=');
                known.put(named.substring(0, eq).trim(), new JsonObject(named.substring(eq + 1)));
            }
        }
        PolicySimulation.Host host = switch (opt.getOrDefault("host", "clean")) {
            case "clean" -> PolicySimulation.Host.cleanRig();
            case "clean-no-gc" -> PolicySimulation.Host.cleanRig().withoutPauses();
            default -> throw new IllegalArgumentException("--host is clean or clean-no-gc");
        };
        host = host.withBatchHandOff(Double.parseDouble(opt.getOrDefault("batch-handoff-us", "0")));
        if (opt.containsKey("gc")) {
            double[] gc = numbers(opt, "gc", 3, "eden MB, median pause ms, spread: e.g. 100,5,0.8");
            host = host.withPauses(gc[0], gc[1], gc[2]);
        }
        if (opt.containsKey("wake-us")) {
            double[] wake = numbers(opt, "wake-us", 2, "the median wake-up delay in µs and its spread: e.g. 120,1.3");
            host = host.withWakeUps(wake[0], wake[1]);
        }
        if (opt.containsKey("shed")) {
            double[] shed = numbers(opt, "shed", 2, "the budget fraction and the floor in ms: e.g. 0.35,20");
            host = host.withShedding(shed[0], shed[1]);
        }
        if (opt.containsKey("background-cores")) {
            host = host.withBackground(Double.parseDouble(opt.get("background-cores")));
        }
        List<String> models = List.of(opt.getOrDefault("models", "ranker,moderation").split(","));
        List<String> policies = List.of(opt.getOrDefault("policies", String.join(",", POLICIES.keySet())).split(","));
        List<Long> seeds = new ArrayList<>();
        for (String seed : opt.getOrDefault("seeds", "1").split(",")) {
            seeds.add(Long.parseLong(seed));
        }
        double warmup = Double.parseDouble(opt.getOrDefault("warmup", "2"));
        double measure = Double.parseDouble(opt.getOrDefault("measure", "4"));
        PrintStream csv = opt.containsKey("out")
                ? new PrintStream(Files.newOutputStream(Path.of(opt.get("out"))), true) : null;
        String header = "model,policy,rate,seed,offered,ok,shed,edge_shed,timed_out,failed,p50_ms,p95_ms,p99_ms,max_ms,"
                + "goodput,batch_rows,batch_requests,cpu_load,gc_pauses";
        if (csv != null) {
            csv.println(header);
        }
        for (String model : models) {
            String rates = opt.get("rates-" + model);
            if (rates == null) {
                throw new IllegalArgumentException("--rates-" + model + " is required");
            }
            Map<String, Map<Double, List<PolicySimulation.Result>>> results = new LinkedHashMap<>();
            for (String rate : rates.split(",")) {
                for (String policy : policies) {
                    JsonObject spec = known.get(policy);
                    if (spec == null) {
                        throw new IllegalArgumentException("unknown policy " + policy + "; known: " + known.keySet());
                    }
                    for (long seed : seeds) {
                        PolicySimulation.Scenario base = PolicySimulation.Scenario.of(
                                modelWith(model, opt.get("set-" + model)), spec, Double.parseDouble(rate)).on(host);
                        PolicySimulation.Result r = PolicySimulation.run(base.seconds(warmup, measure, seed));
                        results.computeIfAbsent(policy, k -> new LinkedHashMap<>())
                                .computeIfAbsent(Double.parseDouble(rate), k -> new ArrayList<>()).add(r);
                        String line = String.format(Locale.ROOT, "%s,%s,%s,%d,%d,%d,%d,%d,%d,%d,%.3f,%.3f,%.3f,%.3f,%.1f,%.2f,%.3f,%.3f,%d",
                                model, policy, rate, seed, r.offered(), r.ok(), r.shed(), r.edgeShed(), r.timedOut(), r.failed(),
                                r.p50Ms(), r.p95Ms(), r.p99Ms(), r.maxMs(), r.goodputPerSecond(), r.meanBatchRows(),
                                r.meanBatchRequests(), r.cpuLoad(), r.gcPauses());
                        System.out.println(line);
                        if (csv != null) {
                            csv.println(line);
                        }
                    }
                }
            }
            String capacity = opt.get("capacity-" + model);
            if (capacity != null) {
                System.out.println(SimulatedTargets.judge(model, Double.parseDouble(capacity), results));
            }
        }
        if (csv != null) {
            csv.close();
        }
    }
}
