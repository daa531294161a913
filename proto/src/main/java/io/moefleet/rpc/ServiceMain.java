package io.moefleet.rpc;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * What every fleet service's {@code main} shares: {@code --name value} options, logs on stderr, tracing from the
 * standard {@code OTEL_*} variables, and the exit codes (2 with the usage for a bad command line, 1 for anything else
 * that stops the start).
 */
public final class ServiceMain {

    /** A started service, waited on until it stops. */
    @FunctionalInterface
    public interface Running {
        void blockUntilShutdown() throws InterruptedException;
    }

    /** Starts the service from its options; a bad option is an {@link IllegalArgumentException}. */
    @FunctionalInterface
    public interface Starter {
        Running start(Options options, OpenTelemetry openTelemetry) throws Exception;
    }

    /** A service's options, by name with their dashes ({@code --port}). */
    public record Options(Map<String, String> values) {

        public String required(String name) {
            String value = values.get(name);
            if (value == null) {
                throw new IllegalArgumentException(name + " is required");
            }
            return value;
        }

        public int requiredInt(String name) {
            required(name);
            return optionalInt(name);
        }

        /** The option's whole number, or null when it is not given. */
        public Integer optionalInt(String name) {
            String value = values.get(name);
            if (value == null) {
                return null;
            }
            try {
                return Integer.parseInt(value);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(name + " expects a whole number, got '" + value + "'");
            }
        }

        public String optional(String name) {
            return values.get(name);
        }
    }

    private ServiceMain() {}

    /** Parses, starts and waits: the whole {@code main} of a service called {@code name}. */
    public static void run(String name, String usage, Set<String> known, String[] argv, Starter starter)
            throws InterruptedException {
        // one line per log record, on stderr
        System.setProperty("java.util.logging.SimpleFormatter.format", name + ": %5$s%6$s%n");
        Running running;
        try {
            running = starter.start(parse(argv, known), openTelemetry(name));
        } catch (IllegalArgumentException e) {
            System.err.println(name + ": " + e.getMessage());
            System.err.println(usage);
            System.exit(2);
            return;
        } catch (Exception e) {
            System.err.println(name + ": " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            if (e.getMessage() == null) {
                e.printStackTrace();
            }
            System.exit(1);
            return;
        }
        running.blockUntilShutdown();
    }

    static Options parse(String[] argv, Set<String> known) {
        Map<String, String> values = new HashMap<>();
        for (int i = 0; i < argv.length; i += 2) {
            if (!known.contains(argv[i])) {
                throw new IllegalArgumentException("unknown option '" + argv[i] + "'");
            }
            if (i + 1 >= argv.length) {
                throw new IllegalArgumentException(argv[i] + " needs a value");
            }
            if (values.put(argv[i], argv[i + 1]) != null) {
                throw new IllegalArgumentException(argv[i] + " is given twice");
            }
        }
        return new Options(values);
    }

    private static OpenTelemetry openTelemetry(String serviceName) {
        return AutoConfiguredOpenTelemetrySdk.builder()
                // defaults that OTEL_* variables override: no exporter is bundled with the services yet
                .addPropertiesSupplier(() -> Map.of(
                        "otel.service.name", serviceName,
                        "otel.traces.exporter", "none",
                        "otel.metrics.exporter", "none",
                        "otel.logs.exporter", "none"))
                .build()
                .getOpenTelemetrySdk();
    }
}
