package io.moefleet.expert;

import io.moefleet.model.CheckpointException;
import io.moefleet.model.ModelConfig;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * One expert shard as its own process:
 * {@code --model DIR --port P --shard I (--expert-shards N | --experts-per-shard K) [--replicas R] | --placement FILE [--threads T]}.
 * Every shard of a fleet gets the same placement flags and serves its own part. Logs go to stderr. Tracing is set up
 * from the standard {@code OTEL_*} variables (sampler, propagators, exporters); with none set, W3C context is
 * propagated and no spans are exported.
 */
public final class ExpertServiceMain {

    private static final String USAGE = "usage: expert-service --model DIR --port P --shard I "
            + "(--expert-shards N | --experts-per-shard K) [--replicas R] | --placement FILE [--threads T]";
    private static final Set<String> FLAGS = Set.of("--model", "--port", "--shard", "--expert-shards", "--experts-per-shard",
            "--replicas", "--placement", "--threads");

    private ExpertServiceMain() {}

    public static void main(String[] argv) throws InterruptedException {
        // one line per log record, on stderr
        System.setProperty("java.util.logging.SimpleFormatter.format", "expert-service: %5$s%6$s%n");
        ExpertServer server;
        try {
            server = new ExpertServer(settings(flags(argv)), openTelemetry()).start();
        } catch (CheckpointException e) {
            System.err.println("expert-service: " + e.getMessage());
            System.exit(1);
            return;
        } catch (IllegalArgumentException e) {
            System.err.println("expert-service: " + e.getMessage());
            System.err.println(USAGE);
            System.exit(2);
            return;
        } catch (IOException | RuntimeException e) {
            System.err.println("expert-service: " + e);
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

    private static ShardSettings settings(Map<String, String> flags) {
        Path model = Path.of(required(flags, "--model"));
        ModelConfig config = ModelConfig.read(model.resolve("config.json"));
        PlacementFlags placement = new PlacementFlags(number(flags, "--expert-shards"), number(flags, "--experts-per-shard"),
                number(flags, "--replicas"), flags.containsKey("--placement") ? Path.of(flags.get("--placement")) : null);
        Integer threads = number(flags, "--threads");
        return new ShardSettings(model, placement.resolve(config), intValue(flags, "--shard"), intValue(flags, "--port"),
                threads != null ? threads : Runtime.getRuntime().availableProcessors());
    }

    private static OpenTelemetry openTelemetry() {
        return AutoConfiguredOpenTelemetrySdk.builder()
                // defaults that OTEL_* variables override: no exporter is bundled with the shard yet
                .addPropertiesSupplier(() -> Map.of(
                        "otel.service.name", "expert-service",
                        "otel.traces.exporter", "none",
                        "otel.metrics.exporter", "none",
                        "otel.logs.exporter", "none"))
                .build()
                .getOpenTelemetrySdk();
    }

    private static String required(Map<String, String> flags, String name) {
        String value = flags.get(name);
        if (value == null) {
            throw new IllegalArgumentException(name + " is required");
        }
        return value;
    }

    private static int intValue(Map<String, String> flags, String name) {
        required(flags, name);
        return number(flags, name);
    }

    private static Integer number(Map<String, String> flags, String name) {
        String value = flags.get(name);
        if (value == null) {
            return null;
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " expects a whole number, got '" + value + "'");
        }
    }
}
