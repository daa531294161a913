package io.moefleet.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.moefleet.cli.fleet.FleetProcesses;
import io.moefleet.cli.fleet.FleetStartException;
import io.moefleet.router.RouterService;
import io.moefleet.router.api.ApiKeys;
import io.moefleet.router.scheduler.SchedulerLimits;
import io.opentelemetry.api.OpenTelemetry;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;

/**
 * {@code serve}: the OpenAI- and Anthropic-compatible API on port P, over the whole fleet on this machine (each service
 * its own JVM, this process the router), over a fleet already running elsewhere ({@code --fleet-config DIR}: the
 * router's part on Kubernetes, the services' addresses and placement in that folder's files), or, with
 * {@code --single-process}, over the engine alone. {@code GET /health}
 * answers 503 while the model loads and the fleet starts, and 200 once a token has gone through every service and the
 * API listens. Ctrl-C (SIGTERM) drains: new requests get 503, those under way finish (up to 30 s), then every service
 * stops.
 */
final class ServeCommand implements Command {

    private static final Duration DRAIN_GRACE = Duration.ofSeconds(30);

    @Override
    public Set<String> switches() {
        return Set.of("single-process", Tracing.SWITCH);
    }

    @Override
    public String usage() {
        return "serve --model DIR --port P [--host H] [--threads T] [--served-model-name NAME] [--max-running N] "
                + "[--max-waiting N] [--max-queue-wait-s S] [--step-tokens N] "
                + "[--api-key KEY [--key-rpm N] [--key-concurrency N] | --api-keys FILE] [--open-metrics] [--hedge-after PERCENTILE] "
                + "[--micro-batches 1|2] [--spin-us N] "
                + "(--single-process | --fleet-config DIR [--fleet-startup-s S] [--tls-dir DIR] | " + FleetOptions.USAGE + ") "
                + Tracing.USAGE;
    }

    @Override
    public int run(Args args, PrintStream out, PrintStream err) throws Exception {
        Path model = Path.of(args.required("model"));
        int port = args.intValue("port", args.required("port"), 1);
        String host = args.optional("host", "127.0.0.1");
        int threads = args.threads();
        RouterService.Settings settings = settings(args, model, host, port);
        Tracing tracing = Tracing.parse("serve", args);
        ServingStack.Backend backend = backend(args, model);
        double hedgeAfter = hedgeAfter(args, backend);
        // defaults: FleetRouter's, and whole steps for a fleet on this machine (ServingStack)
        FleetOptions.StepOptions steps = FleetOptions.steps("serve", args);
        if (tracing.on() && backend instanceof ServingStack.Backend.RunningFleet) {
            throw new UsageException("serve: --tracing does not go with --fleet-config (a running fleet's processes export "
                    + "as their OTEL_* variables say)");
        }
        OpenTelemetry telemetry = RouterTelemetry.open("serve", args, tracing);
        args.rejectUnknown();

        HealthEndpoint health = HealthEndpoint.start(host, port);
        long start = System.nanoTime();
        ServingStack stack;
        try {
            if (tracing.on()) {
                // Zipkin first: every process exports to it from its first span; its log beside the services'
                Path logs = FleetProcesses.newLogFolder(FleetOptions.logsRoot());
                tracing.start(logs, err);
                if (backend instanceof ServingStack.Backend.LocalFleet fleet) {
                    backend = fleet.tracedAs(tracing, logs);
                }
            }
            stack = ServingStack.start(model, backend, threads, settings, telemetry, err, health::stop);
        } catch (FleetStartException e) {
            health.stop();
            tracing.close();
            err.println("fleet serve: " + e.getMessage());
            return 1;
        } catch (RuntimeException e) {
            health.stop();
            tracing.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        tracing.closeAtExitWith(new Thread(() -> {
            stack.drainAndClose(DRAIN_GRACE);
            tracing.close(telemetry);
            stopped.countDown();
        }, "fleet-serve-stop"));
        stack.stopServicesOnlyWhenClosed();
        if (hedgeAfter > 0) {
            stack.hedgeExpertCalls(hedgeAfter);
        }
        stack.fleetSteps(steps);
        err.printf("serving %s as '%s' on http://%s:%d after %.1f s (%s); Ctrl-C drains and stops%n", model.getFileName(),
                settings.servedModelName(), host, stack.router().port(), (System.nanoTime() - start) / 1e9,
                switch (backend) {
                    case ServingStack.Backend.SingleProcess b -> "single process";
                    case ServingStack.Backend.LocalFleet b -> "fleet on this machine";
                    case ServingStack.Backend.RunningFleet b -> "fleet from " + b.configFolder();
                });
        if (tracing.uiUrl() != null) {
            err.println("  traces: " + tracing.uiUrl());
        }
        err.println("  try: " + curlLine(host, stack.router().port(), settings.servedModelName()));
        stopped.await();
        return 0;
    }

    /** What the router runs on: the engine, a fleet it starts here, or a running fleet's configuration folder. */
    static ServingStack.Backend backend(Args args, Path model) {
        boolean singleProcess = args.flag("single-process");
        String fleetConfig = args.optional("fleet-config", null);
        ServingStack.Backend backend;
        if (singleProcess || fleetConfig != null) {
            String given = singleProcess ? "--single-process" : "--fleet-config";
            if (singleProcess && fleetConfig != null) {
                throw new UsageException("serve: --single-process does not go with --fleet-config");
            }
            for (String option : FleetOptions.NAMES) {
                // a running fleet's router calls its services over TLS too
                if (args.optional(option, null) != null && !(option.equals("tls-dir") && fleetConfig != null)) {
                    throw new UsageException("serve: --" + option + " does not go with " + given);
                }
            }
            backend = singleProcess ? new ServingStack.Backend.SingleProcess()
                    : new ServingStack.Backend.RunningFleet(Path.of(fleetConfig),
                            Duration.ofSeconds(args.intValue("fleet-startup-s", "600", 1)),
                            FleetOptions.tlsDir(args, java.util.List.of("router")));
        } else {
            backend = new ServingStack.Backend.LocalFleet(FleetOptions.layout("serve", args, model));
        }
        return backend;
    }

    /** A chat request to try against a running server. */
    static String curlLine(String host, int port, String servedModelName) {
        return "curl -N http://" + host + ":" + port + "/v1/chat/completions -H 'content-type: application/json' -d '{\"model\": \""
                + servedModelName + "\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello\"}], \"max_tokens\": 32, \"stream\": true}'";
    }

    /** The API's name for the model (the checkpoint folder's unless given) and the scheduler's bounds. */
    static RouterService.Settings settings(Args args, Path model, String host, int port) {
        return settings(args, model, host, port, SchedulerLimits.DEFAULT.maxRunning());
    }

    /** As above, {@code --max-running} defaulting to {@code maxRunning}. */
    static RouterService.Settings settings(Args args, Path model, String host, int port, int maxRunningDefault) {
        String name = args.optional("served-model-name", model.toAbsolutePath().normalize().getFileName().toString());
        SchedulerLimits defaults = SchedulerLimits.DEFAULT;
        int maxRunning = args.intValue("max-running", Integer.toString(maxRunningDefault), 1);
        int stepTokens = args.intValue("step-tokens", Integer.toString(Math.max(defaults.stepTokenBudget(), maxRunning + 1)), 2);
        try {
            return new RouterService.Settings(name, host, port, new SchedulerLimits(maxRunning,
                    args.intValue("max-waiting", Integer.toString(defaults.maxWaiting()), 0),
                    Duration.ofSeconds(args.intValue("max-queue-wait-s", Long.toString(defaults.maxQueueWait().toSeconds()), 1)),
                    stepTokens), apiKeys(args));
        } catch (IllegalArgumentException e) {
            throw new UsageException("serve: " + e.getMessage());
        }
    }

    /**
     * {@code --hedge-after P}: an expert call slower than the P-th percentile of recent calls goes to a replica too (a
     * fleet with {@code --replicas 2} or more gains from it); off by default.
     */
    private static double hedgeAfter(Args args, ServingStack.Backend backend) {
        String value = args.optional("hedge-after", null);
        if (value == null) {
            return 0;
        }
        if (backend instanceof ServingStack.Backend.SingleProcess) {
            throw new UsageException("serve: --hedge-after hedges calls to expert shards: it goes with a fleet, not --single-process");
        }
        double percentile;
        try {
            percentile = Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new UsageException("serve: --hedge-after takes a percentile, e.g. 95, not '" + value + "'");
        }
        if (!(percentile > 0 && percentile < 100)) {
            throw new UsageException("serve: --hedge-after takes a percentile above 0 and below 100, not " + value);
        }
        return percentile;
    }

    /**
     * Who may call the API: {@code --api-key KEY} (with {@code --key-rpm N}, {@code --key-concurrency N}) and/or
     * {@code --api-keys FILE} (a key per line with its limits); none of them: open. {@code --open-metrics} leaves
     * {@code /metrics}, {@code /dashboard} and {@code /v1/fleet/...} open when keys are asked for.
     */
    static ApiKeys apiKeys(Args args) {
        String key = args.optional("api-key", null);
        String file = args.optional("api-keys", null);
        int rpm = args.intValue("key-rpm", "0", 0);
        int concurrent = args.intValue("key-concurrency", "0", 0);
        boolean openMetrics = args.flag("open-metrics");
        if (key == null && (rpm > 0 || concurrent > 0)) {
            throw new UsageException("serve: --key-rpm and --key-concurrency go with --api-key (a keys file gives each key its own)");
        }
        if (key == null && file == null) {
            if (openMetrics) {
                throw new UsageException("serve: --open-metrics goes with --api-key or --api-keys (without keys all is open)");
            }
            return ApiKeys.OPEN;
        }
        if (key != null && key.isBlank()) {
            throw new UsageException("serve: --api-key is empty");
        }
        return ApiKeys.of(file == null ? null : Path.of(file), key, new ApiKeys.Limits(rpm, concurrent), openMetrics);
    }

    /**
     * The health endpoint while the model loads and the fleet starts: 503 "starting", bound first so that a client can
     * watch the server come up; the API replaces it.
     */
    private static final class HealthEndpoint {
        private final HttpServer server;

        private HealthEndpoint(HttpServer server) {
            this.server = server;
        }

        static HealthEndpoint start(String host, int port) throws IOException {
            HttpServer server = HttpServer.create(new InetSocketAddress(host, port), 16);
            HealthEndpoint endpoint = new HealthEndpoint(server);
            server.createContext("/", endpoint::handle);
            server.setExecutor(Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().daemon().name("fleet-health").unstarted(r)));
            server.start();
            return endpoint;
        }

        void stop() {
            server.stop(0);
        }

        private void handle(HttpExchange exchange) throws IOException {
            try (exchange) {
                boolean health = exchange.getRequestURI().getPath().equals("/health");
                int status = health ? 503 : 404;
                String body = health ? "{\"status\": \"starting\"}"
                        : "{\"error\": {\"message\": \"not found: " + exchange.getRequestURI().getPath() + "\"}}";
                byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
                exchange.getResponseHeaders().set("Content-Type", "application/json");
                exchange.sendResponseHeaders(status, bytes.length);
                exchange.getResponseBody().write(bytes);
            }
        }
    }
}
