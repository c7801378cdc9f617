package io.weir.chaos.drill;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * {@code bin/weir-drill --plan FILE [--base http://127.0.0.1:8080] [--report FILE.json]}: runs a drill against a
 * running gateway, prints the report, writes it as JSON when asked. The gateway's admin token, when it has one, comes
 * from {@code WEIR_ADMIN_TOKEN} (never from the command line, where {@code ps} would show it). Exit status: 0 passed,
 * 1 failed, 2 the drill could not run (bad plan or arguments, gateway unreachable, chaos off, a needed backend absent).
 */
public final class DrillMain {
    private DrillMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        System.exit(run(args));
    }

    static int run(String[] args) throws InterruptedException {
        Path plan = null;
        Path report = null;
        String base = "http://127.0.0.1:8080";
        try {
            for (int i = 0; i < args.length; i++) {
                String value = i + 1 < args.length ? args[i + 1] : null;
                switch (args[i]) {
                    case "--plan" -> plan = Path.of(require(value, "--plan"));
                    case "--base" -> base = require(value, "--base");
                    case "--report" -> report = Path.of(require(value, "--report"));
                    default -> throw new IllegalArgumentException("unknown argument " + args[i]);
                }
                i++;
            }
            if (plan == null) {
                throw new IllegalArgumentException("--plan is required");
            }
            DrillPlan drill = DrillPlan.parse(Files.readString(plan, StandardCharsets.UTF_8));
            System.out.printf("drill %s%s%n%.0f requests/s over %d connections for %.0f s, against %s%n", drill.name(),
                    drill.description().isEmpty() ? "" : ": " + drill.description(), drill.ratePerSecond(),
                    drill.connections(), drill.seconds(), base);
            DrillReport result = new DrillRunner(URI.create(base), System.getenv("WEIR_ADMIN_TOKEN")).run(drill);
            System.out.print(result.toText());
            if (report != null) {
                Files.writeString(report, result.toJson().encodePrettily(), StandardCharsets.UTF_8);
            }
            return result.passed() ? 0 : 1;
        } catch (IllegalArgumentException e) {
            System.err.println("weir-drill: " + e.getMessage());
            System.err.println("usage: bin/weir-drill --plan FILE [--base http://127.0.0.1:8080] [--report FILE.json]"
                    + " (WEIR_ADMIN_TOKEN: the gateway's admin.token, if it has one)");
            return 2;
        } catch (IllegalStateException | IOException e) {
            System.err.println("weir-drill: " + e.getMessage());
            return 2;
        }
    }

    private static String require(String value, String flag) {
        if (value == null) {
            throw new IllegalArgumentException(flag + " needs a value");
        }
        return value;
    }
}
