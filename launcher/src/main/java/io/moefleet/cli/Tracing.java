package io.moefleet.cli;

import io.moefleet.cli.fleet.ZipkinServer;
import io.moefleet.rpc.ListenPorts;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * {@code --tracing} of {@code serve} and {@code demo}: every process of the fleet (each service JVM and the router in
 * this one) exports its spans to Zipkin's server, started for the run on {@code --zipkin-port} (9411; 0 for a free
 * port) and stopped with it, or with {@code --otlp-endpoint URL} over OTLP to that collector instead (no Zipkin). The
 * services get the settings as {@code OTEL_*} variables, the router's SDK as overrides of its own
 * ({@link RouterTelemetry}); both send a batch every {@value #BATCH_DELAY_MS} ms. The router samples every request
 * unless {@code --trace-sampling} says otherwise, and the services follow its decision only: a call that carries no
 * trace context (a health check) starts no trace of theirs.
 */
final class Tracing implements AutoCloseable {

    static final String SWITCH = "tracing";
    static final String USAGE = "[--tracing [--zipkin-port P | --otlp-endpoint URL]]";
    static final int BATCH_DELAY_MS = 500;

    /** Tracing off: no export configured here (the {@code OTEL_*} variables still apply). */
    static final Tracing OFF = new Tracing(false, 0, null);

    private final boolean on;
    private final int zipkinPort;          // chosen when 0 was asked for; unused with an OTLP endpoint
    private final URI otlpEndpoint;        // null: Zipkin
    private ZipkinServer zipkin;

    private Tracing(boolean on, int zipkinPort, URI otlpEndpoint) {
        this.on = on;
        this.zipkinPort = zipkinPort;
        this.otlpEndpoint = otlpEndpoint;
    }

    /**
     * The tracing flags of {@code command}: {@code --tracing} (a switch of the command), {@code --zipkin-port P} or
     * {@code --otlp-endpoint URL}, both only with {@code --tracing} and not together; otherwise a usage error naming them.
     */
    static Tracing parse(String command, Args args) {
        boolean on = args.flag(SWITCH);
        String port = args.optional("zipkin-port", null);
        String endpoint = args.optional("otlp-endpoint", null);
        if (!on) {
            if (port != null || endpoint != null) {
                throw new UsageException(command + ": --" + (port != null ? "zipkin-port" : "otlp-endpoint")
                        + " goes with --tracing (which starts Zipkin, or sends the spans to --otlp-endpoint)");
            }
            return OFF;
        }
        if (port != null && endpoint != null) {
            throw new UsageException(command + ": --zipkin-port does not go with --otlp-endpoint (spans go to one or the other)");
        }
        if (endpoint != null) {
            return new Tracing(true, 0, otlpEndpoint(command, endpoint));
        }
        int zipkinPort = port == null ? ZipkinServer.DEFAULT_PORT : args.intValue("zipkin-port", port, 0);
        if (zipkinPort > 65535) {
            throw new UsageException(command + ": --zipkin-port must be a port (0 for a free one), got " + zipkinPort);
        }
        return new Tracing(true, zipkinPort == 0 ? ListenPorts.take() : zipkinPort, null);
    }

    private static URI otlpEndpoint(String command, String value) {
        try {
            URI uri = URI.create(value);
            if (("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) && uri.getHost() != null) {
                return uri;
            }
        } catch (IllegalArgumentException e) {
            // reported below
        }
        throw new UsageException(command + ": --otlp-endpoint must be an http(s) URL such as http://collector:4317, got '" + value + "'");
    }

    boolean on() {
        return on;
    }

    /** Whether this run starts Zipkin's server. */
    boolean startsZipkin() {
        return on && otlpEndpoint == null;
    }

    /**
     * Starts what the spans go to: Zipkin's server, its log in {@code logs}, healthy when this returns; its URL on
     * {@code err}. Nothing for an OTLP endpoint or with tracing off.
     *
     * @throws io.moefleet.cli.fleet.FleetStartException when Zipkin does not start (or its jar is missing)
     */
    void start(Path logs, PrintStream err) {
        if (startsZipkin() && zipkin == null) {
            zipkin = ZipkinServer.start(ZipkinServer.locateJar(), zipkinPort, logs, err);
            err.println("traces: " + zipkin.uiUrl());
            // the router's fleet page links to the latest traces there (DashboardHandler reads it)
            System.setProperty("moefleet.zipkin.url", "http://127.0.0.1:" + zipkin.port());
        } else if (on && otlpEndpoint != null) {
            err.println("traces: sent over OTLP to " + otlpEndpoint);
        }
    }

    /** Where the traces are shown ({@code traces: URL}), or null when no Zipkin runs. */
    String uiUrl() {
        return zipkin == null ? null : zipkin.uiUrl();
    }

    /** The {@code OTEL_*} variables of each service process this run starts (empty with tracing off). */
    Map<String, String> serviceEnvironment() {
        if (!on) {
            return Map.of();
        }
        Map<String, String> environment = new LinkedHashMap<>();
        if (otlpEndpoint == null) {
            environment.put("OTEL_TRACES_EXPORTER", "zipkin");
            environment.put("OTEL_EXPORTER_ZIPKIN_ENDPOINT", zipkinSpans());
        } else {
            environment.put("OTEL_TRACES_EXPORTER", "otlp");
            environment.put("OTEL_EXPORTER_OTLP_ENDPOINT", otlpEndpoint.toString());
        }
        environment.put("OTEL_BSP_SCHEDULE_DELAY", Integer.toString(BATCH_DELAY_MS));
        // the router decides which requests are traced; a call without trace context starts no trace here
        environment.put("OTEL_TRACES_SAMPLER", "parentbased_always_off");
        return environment;
    }

    /** The same settings for the router's own SDK, as {@code otel.*} properties (empty with tracing off). */
    Map<String, String> routerExport() {
        if (!on) {
            return Map.of();
        }
        Map<String, String> export = new LinkedHashMap<>();
        if (otlpEndpoint == null) {
            export.put("otel.traces.exporter", "zipkin");
            export.put("otel.exporter.zipkin.endpoint", zipkinSpans());
        } else {
            export.put("otel.traces.exporter", "otlp");
            export.put("otel.exporter.otlp.endpoint", otlpEndpoint.toString());
        }
        export.put("otel.bsp.schedule.delay", Integer.toString(BATCH_DELAY_MS));
        return export;
    }

    private String zipkinSpans() {
        return "http://127.0.0.1:" + zipkinPort + "/api/v2/spans";
    }

    /**
     * Registers {@code hook}, which stops the run at this JVM's exit and closes this last; Zipkin then waits for it
     * (the services and the router send their last spans as they stop) instead of stopping at once.
     */
    void closeAtExitWith(Thread hook) {
        Runtime.getRuntime().addShutdownHook(hook);
        if (zipkin != null) {
            zipkin.keepUntilClosed();
        }
    }

    /** Sends the router's last spans ({@code router}: its SDK), then stops Zipkin's server if this run started one. */
    void close(OpenTelemetry router) {
        if (zipkin != null && router instanceof OpenTelemetrySdk sdk) {
            sdk.getSdkTracerProvider().forceFlush().join(5, TimeUnit.SECONDS);
        }
        close();
    }

    /** Stops Zipkin's server, if this run started one; after the fleet, whose services flush their spans as they stop. */
    @Override
    public void close() {
        if (zipkin != null) {
            zipkin.close();
        }
    }
}
