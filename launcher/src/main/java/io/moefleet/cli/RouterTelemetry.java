package io.moefleet.cli;

import io.moefleet.rpc.ServiceMain;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import java.util.HashMap;
import java.util.Map;

/**
 * The router's OpenTelemetry, configured as the services' ({@link ServiceMain#openTelemetry}: {@code OTEL_*}
 * variables, OTLP when an endpoint is set, else no exporter), with one difference: the router starts the traces, so its
 * sampler decides for the fleet. It is parent-based with a trace-id ratio, {@code --trace-sampling RATIO} (0 to 1),
 * else 1 with {@code --tracing} (every request), else {@code OTEL_TRACES_SAMPLER_ARG}, else 0: tracing is off unless
 * asked for. The services follow the decision each call's W3C context carries. With {@code --tracing} the exporter's
 * settings ({@link Tracing#routerExport}) win over the {@code OTEL_*} variables.
 */
final class RouterTelemetry {

    static final String SERVICE_NAME = "moefleet-router";
    private static final String SAMPLER = "otel.traces.sampler";
    private static final String SAMPLER_ARG = "otel.traces.sampler.arg";
    private static final String RATIO_SAMPLER = "parentbased_traceidratio";

    private RouterTelemetry() {}

    /** The router's OpenTelemetry for {@code command}; a ratio outside [0, 1] is a usage error. */
    static OpenTelemetrySdk open(String command, Args args) {
        return open(command, args, Tracing.OFF);
    }

    /**
     * The router's OpenTelemetry for {@code command} with {@code tracing}'s exporter, sampling every request unless
     * {@code --trace-sampling} says otherwise when tracing is on; a ratio outside [0, 1] is a usage error.
     */
    static OpenTelemetrySdk open(String command, Args args, Tracing tracing) {
        String ratio = args.optional("trace-sampling", null);
        Map<String, String> overrides = new HashMap<>(tracing.routerExport());
        if (ratio != null || tracing.on()) {
            overrides.put(SAMPLER, RATIO_SAMPLER);
            overrides.put(SAMPLER_ARG, ratio == null ? "1.0" : Double.toString(ratio(command, ratio)));
        }
        return ServiceMain.openTelemetry(SERVICE_NAME, Map.of(SAMPLER, RATIO_SAMPLER, SAMPLER_ARG, "0"), overrides);
    }

    private static double ratio(String command, String value) {
        try {
            double ratio = Double.parseDouble(value);
            if (ratio >= 0 && ratio <= 1) {
                return ratio;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageException(command + ": --trace-sampling must be a ratio from 0 to 1, got '" + value + "'");
    }
}
