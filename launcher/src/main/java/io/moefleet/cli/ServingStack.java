package io.moefleet.cli;

import io.grpc.ChannelCredentials;
import io.moefleet.cli.fleet.FleetLayout;
import io.moefleet.rpc.TlsFiles;
import io.moefleet.cli.fleet.FleetProcesses;
import io.moefleet.engine.Engine;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.router.FleetEndpoints;
import io.moefleet.router.FleetRouter;
import io.moefleet.router.RouterService;
import io.moefleet.router.StepTracer;
import io.moefleet.router.api.FleetView;
import io.moefleet.model.forward.StepChunk;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import io.moefleet.router.scheduler.SequenceAdmission;
import io.moefleet.sampling.SamplingParams;
import io.opentelemetry.api.OpenTelemetry;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * What {@code serve} and {@code demo} run: the fleet's services (or the engine alone), the router over them, and the
 * API in front; one token goes through every part before the API listens. Closing drains the API, then stops the rest
 * in reverse order.
 */
final class ServingStack implements AutoCloseable {

    private final List<AutoCloseable> parts;       // closed in reverse
    private final RouterService router;

    /** Hedged expert calls from now on ({@link FleetRouter#hedgeExpertCalls}); the engine has none to hedge. */
    void hedgeExpertCalls(double percentile) {
        for (AutoCloseable part : parts) {
            if (part instanceof FleetRouter fleetRouter) {
                fleetRouter.hedgeExpertCalls(percentile);
            }
        }
    }

    /**
     * The fleet router's micro-batches per step and microseconds of spin before parking for an answer, each where
     * given (otherwise left as they are); the engine has neither.
     */
    void fleetSteps(FleetOptions.StepOptions steps) {
        for (AutoCloseable part : parts) {
            if (part instanceof FleetRouter fleetRouter) {
                steps.microBatches().ifPresent(fleetRouter.transformer()::setMicroBatches);
                steps.spinMicros().ifPresent(us -> fleetRouter.spinBeforeParking(java.time.Duration.ofNanos(1000L * us)));
            }
        }
    }

    /** Micro-batches per step of the fleet router; 1 for the engine, which runs whole steps. */
    int microBatches() {
        for (AutoCloseable part : parts) {
            if (part instanceof FleetRouter fleetRouter) {
                return fleetRouter.transformer().microBatches();
            }
        }
        return 1;
    }

    private ServingStack(List<AutoCloseable> parts, RouterService router) {
        this.parts = parts;
        this.router = router;
    }

    /** What the router runs the model on. */
    sealed interface Backend {
        /** The engine alone, in this process. */
        record SingleProcess() implements Backend {}

        /**
         * A fleet of service processes started here, on this machine, and stopped with the stack; its logs in
         * {@code logs} (null: a new folder under {@link FleetOptions#logsRoot()}), each service with {@code environment}
         * over this process's.
         */
        record LocalFleet(FleetLayout layout, Path logs, Map<String, String> environment) implements Backend {
            LocalFleet(FleetLayout layout) {
                this(layout, null, Map.of());
            }

            /** This fleet, its logs in {@code folder} and its services traced as {@code tracing} says. */
            LocalFleet tracedAs(Tracing tracing, Path folder) {
                return new LocalFleet(layout, folder, tracing.serviceEnvironment());
            }
        }

        /**
         * Services already running elsewhere (on Kubernetes), found through a folder of {@link FleetEndpoints} files;
         * the router waits up to {@code startup} for them to serve, and calls them over mutual TLS with the router's
         * certificate in {@code tlsDir} (null: plaintext).
         */
        record RunningFleet(Path configFolder, Duration startup, Path tlsDir) implements Backend {}

        /** The fleet {@code layout} describes, or the engine alone when it is null. */
        static Backend of(FleetLayout layout) {
            return layout == null ? new SingleProcess() : new LocalFleet(layout);
        }
    }

    /** Starts it all: {@link #start(Path, Backend, int, RouterService.Settings, OpenTelemetry, PrintStream, Runnable)}. */
    static ServingStack start(Path model, FleetLayout layout, int threads, RouterService.Settings settings,
            OpenTelemetry telemetry, PrintStream err, Runnable beforeListening) {
        return start(model, Backend.of(layout), threads, settings, telemetry, err, beforeListening);
    }

    /**
     * Starts it all.
     *
     * @param backend the engine, or the fleet to start or to join
     * @param beforeListening runs once the model is ready, just before the API binds its port (which a placeholder
     *     health endpoint may hold until then)
     * @throws io.moefleet.cli.fleet.FleetStartException when a service of the fleet does not come up
     */
    static ServingStack start(Path model, Backend backend, int threads, RouterService.Settings settings,
            OpenTelemetry telemetry, PrintStream err, Runnable beforeListening) {
        List<AutoCloseable> parts = new ArrayList<>();
        try {
            Transformer transformer;
            Function<List<StepChunk>, List<float[][]>> step;
            SequenceAdmission admission;
            FleetView fleetView;
            ModelWeights.LoadProgress progress = new ConsoleProgress(err, "loading " + model.getFileName());
            if (backend instanceof Backend.SingleProcess) {
                Engine engine = Engine.open(model, progress, threads);
                parts.add(engine);
                engine.generate(new int[] {0}, 1, SamplingParams.greedy());
                transformer = engine.model();
                StepTracer steps = new StepTracer(telemetry);
                step = chunks -> steps.step(engine.model(), chunks);
                admission = SequenceAdmission.NONE;
                fleetView = () -> true;
            } else {
                FleetEndpoints endpoints;
                ChannelCredentials credentials;
                if (backend instanceof Backend.LocalFleet(FleetLayout layout, Path logs, Map<String, String> environment)) {
                    FleetProcesses fleet = FleetProcesses.start(layout,
                            logs != null ? logs : FleetProcesses.newLogFolder(FleetOptions.logsRoot()), environment, err);
                    parts.add(fleet);
                    endpoints = new FleetEndpoints(fleet.attentionAddresses(), fleet.placement(), fleet.expertAddresses());
                    fleet.restartServicesThatExit(err);   // as a kubelet would; the router routes around them meanwhile
                    credentials = fleet.routerCredentials();
                } else {
                    Backend.RunningFleet running = (Backend.RunningFleet) backend;
                    endpoints = FleetEndpoints.read(running.configFolder());
                    credentials = TlsFiles.channelCredentials(running.tlsDir(), "router");
                }
                FleetRouter fleetRouter = FleetRouter.open(endpoints, model, threads, progress, telemetry, credentials);
                parts.add(fleetRouter);
                if (backend instanceof Backend.LocalFleet) {
                    // the services share this machine's cores: little is idle for a second micro-batch to fill, and
                    // twice the calls cost 15-25% at batch 8 and 32 in bench --fleet; through the API (bench --api
                    // --micro-batches 1,2) neither wins (README)
                    fleetRouter.transformer().setMicroBatches(1);
                }
                if (backend instanceof Backend.RunningFleet(Path folder, Duration startup, Path tlsDir)) {
                    err.printf("waiting up to %d s for %d attention instance(s) and %d expert shard(s) listed in %s%n",
                            startup.toSeconds(), endpoints.attentionAddresses().size(), endpoints.expertAddresses().size(), folder);
                    fleetRouter.awaitServing(startup);
                    fleetRouter.watch(folder);
                }
                fleetRouter.greedy(new int[] {0}, 1);
                transformer = fleetRouter.transformer();
                step = chunks -> fleetRouter.step(chunks);
                admission = fleetRouter::admit;
                BooleanSupplier up = fleetRouter::serving;   // a service down is no outage while others take its work
                fleetView = new FleetView() {
                    @Override
                    public boolean healthy() {
                        return up.getAsBoolean();
                    }

                    @Override
                    public String stateJson() {
                        return fleetRouter.stateJson();
                    }

                    @Override
                    public void registerMetrics(io.prometheus.metrics.model.registry.PrometheusRegistry registry) {
                        fleetRouter.registerMetrics(registry);
                    }
                };
            }
            beforeListening.run();
            RouterService router = RouterService.start(transformer, model, settings, step, admission, fleetView, telemetry);
            return new ServingStack(parts, router);
        } catch (RuntimeException e) {
            closeAll(parts);
            throw e;
        }
    }

    RouterService router() {
        return router;
    }

    /** Every process serving: this one (the router) first, then the fleet's services by name, with their pids. */
    java.util.Map<String, Long> processes() {
        java.util.Map<String, Long> all = new java.util.LinkedHashMap<>();
        all.put("router", ProcessHandle.current().pid());
        for (AutoCloseable part : parts) {
            if (part instanceof FleetProcesses fleet) {
                all.putAll(fleet.pids());
            }
        }
        return all;
    }

    /**
     * Leaves stopping the fleet's services to {@link #drainAndClose}, called from the caller's shutdown hook: at exit
     * they then serve the requests under way until the drain is over, instead of stopping beside it.
     */
    void stopServicesOnlyWhenClosed() {
        for (AutoCloseable part : parts) {
            if (part instanceof FleetProcesses fleet) {
                fleet.keepUntilClosed();
            }
        }
    }

    /** New requests get 503, those under way finish within {@code grace}; then everything stops. */
    void drainAndClose(Duration grace) {
        router.drainAndStop(grace);
        closeAll(parts);
    }

    @Override
    public void close() {
        router.close();
        closeAll(parts);
    }

    private static void closeAll(List<AutoCloseable> parts) {
        for (AutoCloseable part : parts.reversed()) {
            try {
                part.close();
            } catch (Exception e) {
                System.err.println("stopping " + part.getClass().getSimpleName() + " failed: " + e.getMessage());
            }
        }
    }
}
