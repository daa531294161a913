package io.moefleet.router;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import io.moefleet.rpc.ServiceMain;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * With an OTLP endpoint configured, as {@code OTEL_EXPORTER_OTLP_ENDPOINT} does, every fleet process's metrics go
 * there: the router's GenAI instruments among them. The receiver is a plain HTTP server taking OTLP/HTTP posts.
 */
@Timeout(60)
class OtlpMetricsExportTest {

    @Test
    void anOtlpEndpointReceivesTheMetrics() throws Exception {
        Map<String, Integer> posts = new ConcurrentHashMap<>();
        HttpServer receiver = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 8);
        receiver.createContext("/", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            posts.merge(exchange.getRequestURI().getPath(), body.length, Integer::sum);
            exchange.sendResponseHeaders(200, -1);
            exchange.close();
        });
        receiver.start();
        try {
            String endpoint = "http://127.0.0.1:" + receiver.getAddress().getPort();
            try (OpenTelemetrySdk sdk = ServiceMain.openTelemetry("moefleet-router", Map.of(), Map.of(
                    "otel.exporter.otlp.endpoint", endpoint, "otel.exporter.otlp.protocol", "http/protobuf",
                    "otel.metric.export.interval", "200", "otel.traces.exporter", "none"))) {
                var metrics = new io.moefleet.router.scheduler.SchedulerMetrics(new PrometheusRegistry(), sdk);
                assertTrue(metrics != null);
                sdk.getMeterProvider().get("test").counterBuilder("moefleet.test").build().add(1);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
                while (!posts.containsKey("/v1/metrics") && System.nanoTime() < deadline) {
                    Thread.sleep(50);
                }
                assertTrue(posts.getOrDefault("/v1/metrics", 0) > 0, "no metrics posted to the OTLP endpoint: " + posts);
            }
        } finally {
            receiver.stop(0);
        }
    }
}
