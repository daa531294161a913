package io.moefleet.router.api;

/**
 * What the API tells about the services behind the model: whether they are up ({@code GET /health}) and, for the fleet
 * controller, their state ({@code GET /v1/fleet/state}). Both may block on the services: the API calls them on a
 * worker, never on the event loop.
 */
@FunctionalInterface
public interface FleetView {

    /** Whether the services behind the scheduler are up (always, for the engine alone). */
    boolean healthy();

    /** Adds the fleet's own metrics to {@code registry} ({@code /metrics}); the engine alone has none of its own. */
    default void registerMetrics(io.prometheus.metrics.model.registry.PrometheusRegistry registry) {
    }

    /** The fleet's state as a JSON object; the engine alone has no fleet to describe. */
    default String stateJson() {
        return "{\"mode\": \"single-process\"}";
    }
}
