package io.moefleet.attention;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.GoldenData;
import io.moefleet.model.forward.StepChunk;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * W3C trace context across the wire: the router and the attention instances have separate tracers (as separate
 * processes do), so the only link between their spans is the {@code traceparent} header the client interceptor writes.
 */
@Timeout(30)   // a hang fails the test rather than stalling the build
class AttentionTraceContextTest {

    private static final String ATTEND = "moefleet.attention.v1.AttentionService/Attend";

    @Test
    void eachInstanceSpanIsAChildOfTheRoutersClientSpanInTheSameTrace() throws InterruptedException {
        InMemorySpanExporter routerSpans = InMemorySpanExporter.create();
        InMemorySpanExporter instanceSpans = InMemorySpanExporter.create();
        try (OpenTelemetrySdk router = sdk(routerSpans); OpenTelemetrySdk instances = sdk(instanceSpans);
             AttentionFleet fleet = AttentionFleet.start(GoldenData.checkpoint("tiny-k2"), 2, 0, router, instances,
                     UnaryOperator.identity())) {
            Span step = router.getTracer("test").spanBuilder("step").startSpan();
            Runnable oneStep = () -> fleet.model.step(List.of(
                    StepChunk.next(fleet.model.newSequence(), new int[] {10, 20, 30, 40}, false),
                    StepChunk.next(fleet.model.newSequence(), new int[] {50, 60, 70, 80}, false)));
            Context.current().with(step).wrap(oneStep).run();
            step.end();

            List<SpanData> clients = routerSpans.getFinishedSpanItems().stream()
                    .filter(s -> s.getKind() == SpanKind.CLIENT && s.getName().equals(ATTEND)).toList();
            int layers = fleet.model.config().numHiddenLayers();
            assertEquals(2 * layers, clients.size(), "an Attend call per instance per layer");
            List<SpanData> servers = awaitSpans(instanceSpans, clients.size());
            Map<String, SpanData> clientsById = clients.stream().collect(Collectors.toMap(SpanData::getSpanId, Function.identity()));
            for (SpanData client : clients) {
                assertEquals(step.getSpanContext().getTraceId(), client.getTraceId());
                assertEquals(step.getSpanContext().getSpanId(), client.getParentSpanId(), "the client span's parent is the step");
            }
            for (SpanData server : servers) {
                SpanData parent = clientsById.get(server.getParentSpanId());
                assertTrue(parent != null, "the server span's parent " + server.getParentSpanId() + " is a client span");
                assertEquals(parent.getTraceId(), server.getTraceId());
                assertTrue(server.getAttributes().asMap().keySet().stream().anyMatch(k -> k.getKey().equals("moefleet.attention.layer")));
            }
        }
    }

    /** The instances' Attend server spans, once there are {@code count} (a span ends just after its response is sent). */
    private static List<SpanData> awaitSpans(InMemorySpanExporter exporter, int count) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (true) {
            List<SpanData> servers = exporter.getFinishedSpanItems().stream()
                    .filter(s -> s.getKind() == SpanKind.SERVER && s.getName().equals(ATTEND)).toList();
            if (servers.size() >= count || System.nanoTime() > end) {
                assertEquals(count, servers.size(), "one server span per client span");
                return servers;
            }
            Thread.sleep(10);
        }
    }

    private static OpenTelemetrySdk sdk(InMemorySpanExporter exporter) {
        return OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().addSpanProcessor(SimpleSpanProcessor.create(exporter)).build())
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
                .build();
    }
}
