package io.weir.gateway;

import io.weir.gateway.config.WeirConfig;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.logging.Logger;

/**
 * {@code java -jar weir-gateway.jar [--config weir.json]}: serves the configured model repository (the built-in
 * demo repository by default) on 127.0.0.1:8080, with {@code WEIR_*} environment overrides.
 *
 * <p>ONNX Runtime reads {@code ORT_DISABLE_TELEMETRY} from the environment when it loads, and a JVM cannot set its
 * own environment; so when the variable is missing, Main starts itself again as a child with it set, rather than
 * ever loading ONNX Runtime with telemetry on.
 */
public final class Main {
    private static final Logger LOG = Logger.getLogger(Main.class.getName());

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        if (!"1".equals(System.getenv("ORT_DISABLE_TELEMETRY"))) {
            System.exit(relaunchWithTelemetryOff(args));
        }
        Path configFile = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--config" -> {
                    if (i + 1 >= args.length) {
                        usage("--config needs a file");
                    }
                    configFile = Path.of(args[++i]);
                }
                case "--help", "-h" -> {
                    usage(null);
                }
                default -> usage("unknown argument " + args[i]);
            }
        }
        if (configFile == null && System.getenv("WEIR_CONFIG") != null) {
            configFile = Path.of(System.getenv("WEIR_CONFIG"));
        }
        WeirConfig config;
        try {
            config = WeirConfig.load(configFile, System.getenv());
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("weir: bad configuration: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (config.cluster().enabled()) {
            // Peers come and go (a headless Service's addresses follow the pods): the JVM would otherwise keep a
            // name's addresses for 30 s, and a name that did not resolve yet at start-up for 10 s.
            java.security.Security.setProperty("networkaddress.cache.ttl", "1");
            java.security.Security.setProperty("networkaddress.cache.negative.ttl", "0");
        }
        WeirServer server = WeirServer.start(config).toCompletionStage().toCompletableFuture().get();
        Runtime.getRuntime().addShutdownHook(new Thread(server::close, "weir-shutdown"));
        LOG.info("started; GET /v2/health/ready turns 200 when every model is loaded and warmed");
    }

    private static void usage(String error) {
        StringBuilder sb = new StringBuilder();
        if (error != null) {
            sb.append("weir: ").append(error).append("\n\n");
        }
        sb.append("usage: weir [--config FILE]\n\nConfiguration keys (file: JSON, dotted or nested; environment: WEIR_<KEY>):\n");
        WeirConfig.KEYS.forEach((k, v) -> sb.append(String.format("  %-28s %-22s %s%n", k, v[0], v[1])));
        System.err.print(sb);
        System.exit(error == null ? 0 : 2);
    }

    private static int relaunchWithTelemetryOff(String[] args) throws IOException, InterruptedException {
        ProcessHandle.Info info = ProcessHandle.current().info();
        Optional<String> command = info.command();
        Optional<String[]> jvmArgs = info.arguments();
        if (command.isEmpty() || jvmArgs.isEmpty()) {
            System.err.println("weir: ORT_DISABLE_TELEMETRY=1 must be set in the environment (Weir never lets ONNX Runtime phone home)");
            return 2;
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(command.get());
        cmd.addAll(List.of(jvmArgs.get()));
        ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
        Map<String, String> env = pb.environment();
        env.put("ORT_DISABLE_TELEMETRY", "1");
        Process p = pb.start();
        Runtime.getRuntime().addShutdownHook(new Thread(p::destroy));
        return p.waitFor();
    }
}
