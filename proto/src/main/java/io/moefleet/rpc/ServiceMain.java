package io.moefleet.rpc;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.spi.metrics.ConfigurableMetricExporterProvider;
import io.opentelemetry.sdk.autoconfigure.spi.traces.ConfigurableSpanExporterProvider;
import io.grpc.ServiceDescriptor;
import java.util.HashMap;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.function.Function;

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

    /**
     * Starts the service from its options, its server taking connections as {@code transport} says; a bad option is an
     * {@link IllegalArgumentException}.
     */
    @FunctionalInterface
    public interface Starter {
        Running start(Options options, OpenTelemetry openTelemetry, ServerTransport transport) throws Exception;
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

    /**
     * Parses, starts and waits: the whole {@code main} of a service called {@code name} serving {@code service}.
     * Besides the service's own options every service takes {@code --tls-dir DIR} (mutual TLS with the files of
     * {@code tlsRole} in DIR: {@link TlsFiles}; plaintext peers refused), {@code --health-port P} (the health service alone,
     * plaintext, on P: {@link ServerTransport}) and {@code --on-load-failure exit|report}: with {@code exit}
     * (the default, for fleets started by {@code ./fleet}, which watch their processes) a failed start ends the
     * process; with {@code report} (on Kubernetes) it logs why and keeps listening on {@code --port} with a
     * {@linkplain LoadingStandIn#failed failed stand-in}, so the pod shows a failed readiness probe and the reason,
     * not a crash loop.
     */
    public static void run(String name, String tlsRole, String usage, Set<String> known, String[] argv, ServiceDescriptor service,
            Starter starter) throws InterruptedException {
        // one line per log record, on stderr
        System.setProperty("java.util.logging.SimpleFormatter.format", name + ": %5$s%6$s%n");
        Options options;
        boolean report;
        try {
            options = parse(argv, known);
            report = reportsLoadFailure(options);
        } catch (IllegalArgumentException e) {
            exit(name, e.getMessage(), usage, 2);
            return;
        }
        ServerTransport transport;
        try {
            // before anything listens: a service told to use TLS never falls back to plaintext, not even to report
            transport = new ServerTransport(TlsFiles.loadIfGiven(options.optional(TlsFiles.OPTION), tlsRole),
                    options.optionalInt(ServerTransport.HEALTH_PORT_OPTION));
        } catch (IllegalArgumentException e) {
            exit(name, e.getMessage(), null, 1);
            return;
        }
        Running running;
        try {
            running = starter.start(options, openTelemetry(name, Map.of(), Map.of()), transport);
        } catch (Exception e) {
            String reason = e.getMessage() != null ? e.getMessage() : e.toString();
            if (!report) {
                if (e.getMessage() == null) {
                    e.printStackTrace();
                }
                exit(name, reason, e instanceof IllegalArgumentException ? usage : null, e instanceof IllegalArgumentException ? 2 : 1);
                return;
            }
            running = reportFailure(name, options, service, reason, transport);
        }
        running.blockUntilShutdown();
    }

    private static final String ON_LOAD_FAILURE = "--on-load-failure";

    private static boolean reportsLoadFailure(Options options) {
        String value = options.optional(ON_LOAD_FAILURE);
        if (value == null || value.equals("exit")) {
            return false;
        }
        if (value.equals("report")) {
            return true;
        }
        throw new IllegalArgumentException(ON_LOAD_FAILURE + " is exit or report, not '" + value + "'");
    }

    /** Listens on the service's port with every call answered by the reason the start failed, until stopped. */
    private static Running reportFailure(String name, Options options, ServiceDescriptor service, String reason,
            ServerTransport transport) {
        String description = name + " could not start: " + reason;
        System.getLogger(ServiceMain.class.getName()).log(System.Logger.Level.ERROR, description
                + " (listening with health NOT_SERVING for " + service.getName() + " until restarted)");
        try {
            ServiceHost host = new ServiceHost(name, options.requiredInt("--port"), service.getName(), () -> { }, transport);
            host.listenFailed(LoadingStandIn.failed(service, description));
            return host::blockUntilShutdown;
        } catch (Exception e) {
            exit(name, reason + "; and reporting it failed too: " + e.getMessage(), null, 1);
            return () -> { };
        }
    }

    private static void exit(String name, String message, String usage, int status) {
        System.err.println(name + ": " + message);
        if (usage != null) {
            System.err.println(usage);
        }
        System.exit(status);
    }

    /** The options every service run by {@link #run} takes besides its own. */
    private static final Set<String> COMMON = Set.of(ON_LOAD_FAILURE, TlsFiles.OPTION, ServerTransport.HEALTH_PORT_OPTION);

    /**
     * A service's command line, {@code known} being its own options ({@code --on-load-failure}, {@code --tls-dir} and
     * {@code --health-port} are every service's), checked for unknown, repeated and value-less options; the values are
     * read by the service.
     */
    public static Options parse(String[] argv, Set<String> known) {
        Map<String, String> values = new HashMap<>();
        for (int i = 0; i < argv.length; i += 2) {
            if (!known.contains(argv[i]) && !COMMON.contains(argv[i])) {
                throw new IllegalArgumentException("unknown option '" + argv[i] + "'");
            }
            if (i + 1 >= argv.length) {
                throw new IllegalArgumentException(argv[i] + " needs a value");
            }
            if (values.put(argv[i], argv[i + 1]) != null) {
                throw new IllegalArgumentException(argv[i] + " is given twice");
            }
        }
        Options options = new Options(values);
        reportsLoadFailure(options);
        options.optionalInt(ServerTransport.HEALTH_PORT_OPTION);
        return options;
    }

    /**
     * The OpenTelemetry of a fleet process called {@code serviceName}, configured as every service's: the standard
     * {@code OTEL_*} variables and {@code otel.*} system properties over {@code defaults}, with {@code overrides} (a
     * command-line flag's settings) winning over both. Logs are not exported unless asked for; metrics (the gRPC
 * instrumentation's RPC metrics, the router's GenAI metrics) go over OTLP when an OTLP endpoint is configured; spans go to
     * OTLP when an OTLP endpoint is configured and the exporter is on the class path, else to Zipkin when a Zipkin
     * endpoint is, else nowhere (unless {@code otel.traces.exporter} says otherwise: {@code zipkin} with
     * {@code otel.exporter.zipkin.endpoint} is what {@code ./fleet serve --tracing} gives every process). The SDK flushes
     * and closes at JVM exit.
     */
    public static OpenTelemetrySdk openTelemetry(String serviceName, Map<String, String> defaults, Map<String, String> overrides) {
        Map<String, String> base = new HashMap<>(Map.of(
                "otel.service.name", serviceName,
                "otel.logs.exporter", "none"));
        base.putAll(defaults);
        return AutoConfiguredOpenTelemetrySdk.builder()
                .addPropertiesSupplier(() -> base)
                .addPropertiesCustomizer(config -> {
                    // the flag's settings win, so the defaults are decided on them too
                    Function<String, String> setting = key -> overrides.containsKey(key) ? overrides.get(key) : config.getString(key);
                    Map<String, String> decided = new HashMap<>();
                    if (setting.apply("otel.traces.exporter") == null) {
                        decided.put("otel.traces.exporter", defaultSpanExporter(serviceName, setting));
                    }
                    if (setting.apply("otel.metrics.exporter") == null) {
                        decided.put("otel.metrics.exporter", defaultMetricExporter(setting));
                    }
                    decided.putAll(overrides);
                    return decided;
                })
                .build()
                .getOpenTelemetrySdk();
    }

    /** The OTLP endpoint for one signal ({@code signalKey}), else the one for all, else null. */
    private static String otlpEndpoint(Function<String, String> setting, String signalKey) {
        String endpoint = setting.apply(signalKey);
        return endpoint != null ? endpoint : setting.apply("otel.exporter.otlp.endpoint");
    }

    /** "otlp" when an OTLP endpoint is set and an OTLP metric exporter can be loaded, else "none". */
    private static String defaultMetricExporter(Function<String, String> setting) {
        String endpoint = otlpEndpoint(setting, "otel.exporter.otlp.metrics.endpoint");
        boolean available = endpoint != null && ServiceLoader.load(ConfigurableMetricExporterProvider.class).stream()
                .anyMatch(provider -> provider.get().getName().equals("otlp"));
        return available ? "otlp" : "none";
    }

    /**
     * "otlp" when an OTLP endpoint is set and an OTLP exporter can be loaded, else "zipkin" when a Zipkin endpoint is set
     * ({@code OTEL_EXPORTER_ZIPKIN_ENDPOINT}) and the Zipkin exporter can be loaded, else "none": a service built without
     * the exporter keeps starting when the fleet's environment names a collector (it says once that it will not export).
     */
    private static String defaultSpanExporter(String serviceName, Function<String, String> setting) {
        String endpoint = otlpEndpoint(setting, "otel.exporter.otlp.traces.endpoint");
        String exporter = "otlp";
        if (endpoint == null) {
            endpoint = setting.apply("otel.exporter.zipkin.endpoint");
            exporter = "zipkin";
        }
        if (endpoint == null) {
            return "none";
        }
        String name = exporter;
        boolean available = ServiceLoader.load(ConfigurableSpanExporterProvider.class).stream()
                .anyMatch(provider -> provider.get().getName().equals(name));
        if (!available) {
            System.getLogger(ServiceMain.class.getName()).log(System.Logger.Level.WARNING, serviceName + ": an "
                    + (name.equals("otlp") ? "OTLP" : "Zipkin") + " endpoint (" + endpoint + ") is set but no " + name
                    + " exporter is on the class path: spans are not exported");
            return "none";
        }
        return exporter;
    }
}
