package io.moefleet.router;

import io.moefleet.chat.ChatEncoder;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.router.api.ApiKeys;
import io.moefleet.router.api.ApiServer;
import io.moefleet.router.api.FleetView;
import io.moefleet.router.api.ServedModel;
import io.moefleet.router.scheduler.Scheduler;
import io.moefleet.router.scheduler.SchedulerLimits;
import io.moefleet.router.scheduler.SchedulerMetrics;
import io.moefleet.router.scheduler.SequenceAdmission;
import io.opentelemetry.api.OpenTelemetry;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Function;

/**
 * The router service as it runs: the continuous-batching scheduler over a model (the fleet's, or the engine's alone)
 * and the HTTP API in front of it. Stopping drains: no new requests, those under way finish within a grace period.
 */
public final class RouterService implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(RouterService.class.getName());

    private final ChatEncoder encoder;
    private final Scheduler scheduler;
    private final ApiServer server;
    private final int port;

    private RouterService(ChatEncoder encoder, Scheduler scheduler, ApiServer server, int port) {
        this.encoder = encoder;
        this.scheduler = scheduler;
        this.server = server;
        this.port = port;
    }

    /** What the service runs on and how it is reached. */
    public record Settings(String servedModelName, String host, int port, SchedulerLimits limits, ApiKeys keys) {

        /** An open API: no key asked for. */
        public Settings(String servedModelName, String host, int port, SchedulerLimits limits) {
            this(servedModelName, host, port, limits, ApiKeys.OPEN);
        }
    }

    /**
     * Starts the API over {@code model}, whose checkpoint folder {@code checkpoint} holds the tokenizer and chat
     * template; steps go through {@code step} and new sequences through {@code admission}.
     *
     * @param fleet the services behind the model: their health ({@code GET /health}) and state ({@code GET /v1/fleet/state})
     * @param openTelemetry where the requests' traces go: each request's span, its queueing and admission, the steps
     */
    public static RouterService start(Transformer model, Path checkpoint, Settings settings,
            Function<List<StepChunk>, List<float[][]>> step, SequenceAdmission admission, FleetView fleet,
            OpenTelemetry openTelemetry) {
        ChatEncoder encoder = ChatEncoder.load(checkpoint);
        PrometheusRegistry registry = new PrometheusRegistry();
        fleet.registerMetrics(registry);
        Scheduler scheduler = new Scheduler(model, step, admission, settings.limits(), new SchedulerMetrics(registry, openTelemetry), openTelemetry);
        ApiServer server = new ApiServer(new ServedModel(settings.servedModelName(), model, encoder, scheduler), registry,
                fleet, openTelemetry, settings.keys());
        try {
            int port = server.start(settings.host(), settings.port()).await();
            return new RouterService(encoder, scheduler, server, port);
        } catch (RuntimeException e) {
            server.stop(Duration.ZERO);
            scheduler.close();
            encoder.close();
            throw e;
        }
    }

    /** The bound port (the one asked for, or a free one for 0). */
    public int port() {
        return port;
    }

    /** Takes no new requests (503), lets those under way finish for at most {@code grace}, then stops. */
    public void drainAndStop(Duration grace) {
        scheduler.drain();
        try {
            if (!scheduler.awaitIdle(grace)) {
                LOG.log(System.Logger.Level.WARNING, "requests still running after the " + grace.toSeconds() + " s grace; stopping them");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        close();
    }

    @Override
    public void close() {
        server.stop(Duration.ofSeconds(1));
        scheduler.close();
        encoder.close();
    }
}
