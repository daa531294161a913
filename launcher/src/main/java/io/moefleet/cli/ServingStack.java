package io.moefleet.cli;

import io.moefleet.cli.fleet.FleetLayout;
import io.moefleet.cli.fleet.FleetProcesses;
import io.moefleet.engine.Engine;
import io.moefleet.model.forward.Transformer;
import io.moefleet.router.FleetEndpoints;
import io.moefleet.router.FleetRouter;
import io.moefleet.router.RouterService;
import io.moefleet.router.StepTracer;
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

/**
 * What {@code serve} and {@code demo} run: the fleet's services (or the engine alone), the router over them, and the
 * API in front; one token goes through every part before the API listens. Closing drains the API, then stops the rest
 * in reverse order.
 */
final class ServingStack implements AutoCloseable {

    private final List<AutoCloseable> parts;       // closed in reverse
    private final RouterService router;

    private ServingStack(List<AutoCloseable> parts, RouterService router) {
        this.parts = parts;
        this.router = router;
    }

    /**
     * Starts it all.
     *
     * @param layout the fleet to start, or null for the engine alone in this process
     * @param beforeListening runs once the model is ready, just before the API binds its port (which a placeholder
     *     health endpoint may hold until then)
     * @throws io.moefleet.cli.fleet.FleetStartException when a service of the fleet does not come up
     */
    static ServingStack start(Path model, FleetLayout layout, int threads, RouterService.Settings settings,
            OpenTelemetry telemetry, PrintStream err, Runnable beforeListening) {
        List<AutoCloseable> parts = new ArrayList<>();
        try {
            Transformer transformer;
            Function<List<StepChunk>, List<float[][]>> step;
            SequenceAdmission admission;
            BooleanSupplier healthy;
            if (layout == null) {
                Engine engine = Engine.open(model, new ConsoleProgress(err, "loading " + model.getFileName()), threads);
                parts.add(engine);
                engine.generate(new int[] {0}, 1, SamplingParams.greedy());
                transformer = engine.model();
                StepTracer steps = new StepTracer(telemetry);
                step = chunks -> steps.step(engine.model(), chunks);
                admission = SequenceAdmission.NONE;
                healthy = () -> true;
            } else {
                FleetProcesses fleet = FleetProcesses.start(layout, FleetOptions.logsRoot(), err);
                parts.add(fleet);
                FleetRouter fleetRouter = FleetRouter.open(
                        new FleetEndpoints(fleet.attentionAddresses(), fleet.placement(), fleet.expertAddresses()), model, threads,
                        new ConsoleProgress(err, "loading " + model.getFileName()), telemetry);
                parts.add(fleetRouter);
                fleetRouter.greedy(new int[] {0}, 1);
                transformer = fleetRouter.transformer();
                step = chunks -> fleetRouter.steps().step(fleetRouter.transformer(), chunks);
                admission = fleetRouter::admit;
                healthy = fleet::allRunning;
            }
            beforeListening.run();
            RouterService router = RouterService.start(transformer, model, settings, step, admission, healthy);
            return new ServingStack(parts, router);
        } catch (RuntimeException e) {
            closeAll(parts);
            throw e;
        }
    }

    RouterService router() {
        return router;
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
