package io.moefleet.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.opentelemetry.sdk.OpenTelemetrySdk;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --tracing}, {@code --zipkin-port}, {@code --otlp-endpoint}: what each process is told, and the usage errors. */
class TracingTest {

    @TempDir
    Path dir;

    @Test
    void zipkinIsWhatEveryProcessExportsTo() {
        Tracing tracing = parse("--tracing", "--zipkin-port", "9412");
        assertTrue(tracing.startsZipkin());
        assertEquals(Map.of("OTEL_TRACES_EXPORTER", "zipkin",
                "OTEL_EXPORTER_ZIPKIN_ENDPOINT", "http://127.0.0.1:9412/api/v2/spans",
                "OTEL_BSP_SCHEDULE_DELAY", "500",
                "OTEL_TRACES_SAMPLER", "parentbased_always_off"), tracing.serviceEnvironment());
        assertEquals(Map.of("otel.traces.exporter", "zipkin",
                "otel.exporter.zipkin.endpoint", "http://127.0.0.1:9412/api/v2/spans",
                "otel.bsp.schedule.delay", "500"), tracing.routerExport());
        assertEquals("zipkin", parse("--tracing").serviceEnvironment().get("OTEL_TRACES_EXPORTER"));
        assertTrue(parse("--tracing").serviceEnvironment().get("OTEL_EXPORTER_ZIPKIN_ENDPOINT").contains(":9411/"));
    }

    @Test
    void anOtlpEndpointReplacesZipkin() {
        Tracing tracing = parse("--tracing", "--otlp-endpoint", "http://collector:4317");
        assertFalse(tracing.startsZipkin());
        assertEquals("otlp", tracing.serviceEnvironment().get("OTEL_TRACES_EXPORTER"));
        assertEquals("http://collector:4317", tracing.serviceEnvironment().get("OTEL_EXPORTER_OTLP_ENDPOINT"));
        assertEquals("http://collector:4317", tracing.routerExport().get("otel.exporter.otlp.endpoint"));
    }

    @Test
    void withoutTheSwitchNothingIsConfigured() {
        Tracing tracing = parse();
        assertFalse(tracing.on());
        assertEquals(Map.of(), tracing.serviceEnvironment());
        assertEquals(Map.of(), tracing.routerExport());
    }

    @Test
    void theRouterSamplesEveryRequestAndExportsToZipkinUnlessTheRatioIsGiven() {
        String all = router("--tracing", "--zipkin-port", "9412");
        assertTrue(all.contains("ParentBased{root:TraceIdRatioBased{1.000000}"), all);
        assertTrue(all.contains("ZipkinSpanExporter"), all);
        String some = router("--tracing", "--zipkin-port", "9412", "--trace-sampling", "0.25");
        assertTrue(some.contains("ParentBased{root:TraceIdRatioBased{0.250000}"), some);
    }

    @Test
    void combinationsOutsideTracingAreUsageErrors() {
        Path model = dir.resolve("none");
        assertUsage("--zipkin-port goes with --tracing", "serve", "--model", model.toString(), "--port", "8000",
                "--expert-shards", "2", "--zipkin-port", "9411");
        assertUsage("--otlp-endpoint goes with --tracing", "serve", "--model", model.toString(), "--port", "8000",
                "--expert-shards", "2", "--otlp-endpoint", "http://collector:4317");
        assertUsage("--zipkin-port does not go with --otlp-endpoint", "serve", "--model", model.toString(), "--port", "8000",
                "--expert-shards", "2", "--tracing", "--zipkin-port", "0", "--otlp-endpoint", "http://collector:4317");
        assertUsage("--otlp-endpoint must be an http(s) URL", "serve", "--model", model.toString(), "--port", "8000",
                "--expert-shards", "2", "--tracing", "--otlp-endpoint", "collector:4317");
        assertUsage("--zipkin-port must be", "serve", "--model", model.toString(), "--port", "8000",
                "--expert-shards", "2", "--tracing", "--zipkin-port", "70000");
        assertUsage("--tracing does not go with --fleet-config", "serve", "--model", model.toString(), "--port", "8000",
                "--fleet-config", dir.toString(), "--tracing");
        assertUsage("--zipkin-port goes with --tracing", "demo", "--model", model.toString(), "--zipkin-port", "0");
    }

    private static void assertUsage(String message, String... argv) {
        CliRun run = CliRun.run(argv);
        assertEquals(2, run.code(), run.err());
        assertTrue(run.err().contains(message), run.err());
        assertTrue(run.err().contains("usage: ./fleet " + argv[0]), run.err());
    }

    private static Tracing parse(String... argv) {
        return Tracing.parse("serve", Args.parse("serve", argv, 0, Set.of(Tracing.SWITCH)));
    }

    private static String router(String... argv) {
        Args args = Args.parse("serve", argv, 0, Set.of(Tracing.SWITCH));
        OpenTelemetrySdk sdk = RouterTelemetry.open("serve", args, Tracing.parse("serve", args));
        try {
            return sdk.getSdkTracerProvider().toString();
        } finally {
            sdk.close();
        }
    }
}
