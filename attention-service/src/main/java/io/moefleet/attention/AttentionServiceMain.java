package io.moefleet.attention;

import io.moefleet.model.CheckpointException;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * One attention instance as its own process: {@code --model DIR --port P [--threads T]}. Logs go to stderr. Tracing is
 * set up from the standard {@code OTEL_*} variables (sampler, propagators, exporters); with none set, W3C context is
 * propagated and no spans are exported.
 */
public final class AttentionServiceMain {

    private static final String USAGE = "usage: attention-service --model DIR --port P [--threads T]";
    private static final Set<String> FLAGS = Set.of("--model", "--port", "--threads");

    private AttentionServiceMain() {}

    public static void main(String[] argv) throws InterruptedException {
        // one line per log record, on stderr
        System.setProperty("java.util.logging.SimpleFormatter.format", "attention-service: %5$s%6$s%n");
        AttentionServer server;
        try {
            server = new AttentionServer(settings(flags(argv)), openTelemetry()).start();
        } catch (CheckpointException e) {
            System.err.println("attention-service: " + e.getMessage());
            System.exit(1);
            return;
        } catch (IllegalArgumentException e) {
            System.err.println("attention-service: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        } catch (IOException | RuntimeException e) {
            System.err.println("attention-service: " + e);
            e.printStackTrace();
            System.exit(1);
            return;
        }
        server.blockUntilShutdown();
    }

    private static Map<String, String> flags(String[] argv) {
        Map<String, String> flags = new HashMap<>();
        for (int i = 0; i < argv.length; i += 2) {
            if (!FLAGS.contains(argv[i])) {
                throw new IllegalArgumentException("unknown option '" + argv[i] + "'");
            }
            if (i + 1 >= argv.length) {
                throw new IllegalArgumentException(argv[i] + " needs a value");
            }
            if (flags.put(argv[i], argv[i + 1]) != null) {
                throw new IllegalArgumentException(argv[i] + " is given twice");
            }
        }
        return flags;
    }

    private static InstanceSettings settings(Map<String, String> flags) {
        String model = flags.get("--model");
        if (model == null) {
            throw new IllegalArgumentException("--model is required");
        }
        if (!flags.containsKey("--port")) {
            throw new IllegalArgumentException("--port is required");
        }
        int threads = flags.containsKey("--threads") ? number(flags, "--threads") : Runtime.getRuntime().availableProcessors();
        return new InstanceSettings(Path.of(model), number(flags, "--port"), threads);
    }

    private static OpenTelemetry openTelemetry() {
        return AutoConfiguredOpenTelemetrySdk.builder()
                // defaults that OTEL_* variables override: no exporter is bundled with the instance yet
                .addPropertiesSupplier(() -> Map.of(
                        "otel.service.name", "attention-service",
                        "otel.traces.exporter", "none",
                        "otel.metrics.exporter", "none",
                        "otel.logs.exporter", "none"))
                .build()
                .getOpenTelemetrySdk();
    }

    private static int number(Map<String, String> flags, String name) {
        String value = flags.get(name);
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " expects a whole number, got '" + value + "'");
        }
    }
}
