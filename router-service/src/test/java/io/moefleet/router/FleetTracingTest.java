package io.moefleet.router;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.GoldenData;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A step through real gRPC servers on loopback, traced: the router and the services have separate tracer providers (as
 * separate processes do), linked only by the W3C context on the wire. The services keep the SDK's default sampler
 * (parent-based), as {@code ServiceMain} leaves it, so the router's sampling ratio decides for the whole trace.
 */
@Timeout(60)   // a hang fails the test rather than stalling the build
class FleetTracingTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");
    private static final String ATTEND = "moefleet.attention.v1.AttentionService/Attend";
    /** The KV-aware placement's probe of each instance, made when layer 0 first meets a new sequence. */
    private static final String HOT_PREFIX = "moefleet.attention.v1.AttentionService/HotPrefix";
    private static final String FORWARD = "moefleet.expert.v1.ExpertService/Forward";

    @Test
    void aStepIsOneTraceOfLayerSpansOverTheClientAndServerSpansOfItsCalls() throws InterruptedException {
        InMemorySpanExporter routerSpans = InMemorySpanExporter.create();
        InMemorySpanExporter serviceSpans = InMemorySpanExporter.create();
        try (OpenTelemetrySdk routerTelemetry = sdk(routerSpans, Sampler.parentBased(Sampler.traceIdRatioBased(1.0)));
             OpenTelemetrySdk serviceTelemetry = sdk(serviceSpans, Sampler.parentBased(Sampler.alwaysOn()));
             InProcessFleet fleet = InProcessFleet.start(MODEL, 2, 2, routerTelemetry, serviceTelemetry)) {
            Transformer model = fleet.router.transformer();
            // the trace of a whole step; in two micro-batches each layer has an attention span (and calls) per half
            model.setMicroBatches(1);
            Sequence decoding = model.newSequence();
            fleet.router.step(List.of(StepChunk.next(decoding, new int[] {10, 20, 30, 40}, false)));
            routerSpans.reset();
            serviceSpans.reset();

            // a mixed step: one decode token and a three-token prompt, on two sequences
            fleet.router.step(List.of(StepChunk.next(decoding, new int[] {50}, false),
                    StepChunk.next(model.newSequence(), new int[] {60, 70, 80}, false)));

            List<SpanData> stepSpans = named(routerSpans.getFinishedSpanItems(), "step");
            assertEquals(1, stepSpans.size(), "one step span");
            SpanData step = stepSpans.getFirst();
            assertEquals(Map.of("moefleet.step.sequences", 2L, "moefleet.step.tokens", 4L,
                    "moefleet.step.prefill_tokens", 3L, "moefleet.step.decode_tokens", 1L), longAttributes(step));
            String trace = step.getTraceId();

            ModelConfig config = model.config();
            int hidden = config.hiddenSize();
            List<SpanData> router = inTrace(routerSpans.getFinishedSpanItems(), trace);
            List<SpanData> attentionLayers = router.stream().filter(s -> s.getName().startsWith("attention layer ")).toList();
            List<SpanData> expertLayers = router.stream().filter(s -> s.getName().startsWith("experts layer ")).toList();
            assertEquals(config.numHiddenLayers(), attentionLayers.size(), "an attention span per layer");
            assertEquals(config.numHiddenLayers() - config.firstKDenseReplace(), expertLayers.size(), "an experts span per MoE layer");
            for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
                SpanData attention = only(attentionLayers, "attention layer " + layer);
                assertEquals(step.getSpanId(), attention.getParentSpanId(), attention.getName() + " is a child of the step");
                Map<String, Long> attributes = longAttributes(attention);
                assertEquals(layer, attributes.get("moefleet.layer"));
                assertEquals(4L, attributes.get("moefleet.tokens"));
                assertEquals(2L, attributes.get("moefleet.sequences"));
                assertEquals(4L * hidden * Float.BYTES, attributes.get("moefleet.bytes_sent"));
                assertEquals(4L * hidden * Float.BYTES, attributes.get("moefleet.bytes_received"));
            }
            for (int layer = config.firstKDenseReplace(); layer < config.numHiddenLayers(); layer++) {
                SpanData experts = only(expertLayers, "experts layer " + layer);
                assertEquals(step.getSpanId(), experts.getParentSpanId(), experts.getName() + " is a child of the step");
                Map<String, Long> attributes = longAttributes(experts);
                assertEquals(4L * config.numExpertsPerTok(), attributes.get("moefleet.expert_assignments"));
                // every routed token's row goes out at least once and each of its experts' outputs comes back
                assertTrue(attributes.get("moefleet.bytes_sent") > 4L * hidden * Float.BYTES, attributes.toString());
                assertTrue(attributes.get("moefleet.bytes_received") > 4L * config.numExpertsPerTok() * hidden * Float.BYTES,
                        attributes.toString());
            }

            List<SpanData> clients = awaitSpans(routerSpans, trace, SpanKind.CLIENT, 2 * config.numHiddenLayers() + expertLayers.size());
            Map<String, SpanData> parents = router.stream().collect(Collectors.toMap(SpanData::getSpanId, Function.identity()));
            for (SpanData client : clients) {
                SpanData parent = parents.get(client.getParentSpanId());
                assertTrue(parent != null, client.getName() + "'s parent is a router span");
                assertTrue(client.getName().equals(ATTEND) ? parent.getName().startsWith("attention layer ")
                        : client.getName().equals(HOT_PREFIX) ? parent.getName().equals("step")   // the new sequence placed at the step's start
                        : client.getName().equals(FORWARD) && parent.getName().startsWith("experts layer "),
                        client.getName() + " under " + parent.getName());
            }
            Set<String> callers = clients.stream().map(SpanData::getParentSpanId).collect(Collectors.toSet());
            assertTrue(callers.containsAll(attentionLayers.stream().map(SpanData::getSpanId).toList()), "every attention span made calls");
            assertTrue(callers.containsAll(expertLayers.stream().map(SpanData::getSpanId).toList()), "every experts span made calls");
            assertEquals(2 * config.numHiddenLayers(), named(clients, ATTEND).size(), "an Attend per instance per layer");

            Set<String> clientIds = clients.stream().map(SpanData::getSpanId).collect(Collectors.toSet());
            List<SpanData> servers = awaitSpans(serviceSpans, trace, SpanKind.SERVER, clients.size());
            for (SpanData server : servers) {
                assertTrue(clientIds.contains(server.getParentSpanId()), server.getName() + "'s parent is a client span");
            }
            assertEquals(clientIds, servers.stream().map(SpanData::getParentSpanId).collect(Collectors.toSet()),
                    "one server span per client span");
        }
    }

    @Test
    void withSamplingRatioZeroNothingIsRecordedButTheCallsAreStillMeasured() throws InterruptedException {
        InMemorySpanExporter routerSpans = InMemorySpanExporter.create();
        InMemorySpanExporter serviceSpans = InMemorySpanExporter.create();
        try (OpenTelemetrySdk routerTelemetry = sdk(routerSpans, Sampler.parentBased(Sampler.traceIdRatioBased(0.0)));
             OpenTelemetrySdk serviceTelemetry = sdk(serviceSpans, Sampler.parentBased(Sampler.alwaysOn()));
             InProcessFleet fleet = InProcessFleet.start(MODEL, 2, 1, routerTelemetry, serviceTelemetry)) {
            int[] generated = fleet.router.greedy(new int[] {5, 17, 42, 7}, 3);
            assertEquals(3, generated.length);
            Thread.sleep(300);   // a server span, had one been sampled, ends just after its response is sent

            assertEquals(List.of(), routerSpans.getFinishedSpanItems());
            assertEquals(List.of(), serviceSpans.getFinishedSpanItems(), "the services follow the router's unsampled context");
            ModelConfig config = fleet.router.transformer().config();
            int steps = 3;   // the prompt, then two decode steps
            assertEquals((long) steps * config.numHiddenLayers(), fleet.router.attentionCalls().summary().calls());
            LayerCallSummary experts = fleet.router.expertCalls().summary();
            assertEquals((long) steps * (config.numHiddenLayers() - config.firstKDenseReplace()), experts.calls());
            assertTrue(experts.p50Micros() > 0 && experts.p99Micros() >= experts.p50Micros(), experts.toString());
            assertTrue(experts.bytesSentPerCall() > 0 && experts.bytesReceivedPerCall() > 0, experts.toString());
            // each call's slowest server time lies inside its round trip, so every order statistic does too
            assertTrue(experts.serverP50Micros() > 0 && experts.serverP50Micros() <= experts.p50Micros()
                    && experts.serverP99Micros() <= experts.p99Micros(), experts.toString());
            LayerCallSummary attention = fleet.router.attentionCalls().summary();
            assertTrue(attention.serverP50Micros() > 0 && attention.serverP50Micros() <= attention.p50Micros()
                    && attention.serverP99Micros() <= attention.p99Micros(), attention.toString());
        }
    }

    private static final String CLIENT_TRACE = "0af7651916cd43dd8448eb211c80319c";
    private static final String CLIENT_SPAN = "b7ad6b7169203331";

    @Test
    void aChatRequestIsOneTraceFromItsHttpSpanThroughTheServicesThatServedIt() throws Exception {
        InMemorySpanExporter routerSpans = InMemorySpanExporter.create();
        InMemorySpanExporter serviceSpans = InMemorySpanExporter.create();
        // the router samples nothing of its own: the client's sampled traceparent is what turns tracing on
        try (OpenTelemetrySdk routerTelemetry = sdk(routerSpans, Sampler.parentBased(Sampler.traceIdRatioBased(0.0)));
             OpenTelemetrySdk serviceTelemetry = sdk(serviceSpans, Sampler.parentBased(Sampler.alwaysOn()));
             InProcessFleet fleet = InProcessFleet.start(MODEL, 2, 1, routerTelemetry, serviceTelemetry);
             RouterService api = serve(fleet, routerTelemetry)) {
            HttpResponse<String> answer = post(api, "/v1/chat/completions", "00-" + CLIENT_TRACE + "-" + CLIENT_SPAN + "-01", """
                    {"model": "tiny-k2", "messages": [{"role": "user", "content": "Hello"}], "max_tokens": 3, "temperature": 0,
                     "ignore_eos": true}""");
            assertEquals(200, answer.statusCode(), answer.body());

            SpanData http = awaitSpans(routerSpans, CLIENT_TRACE, SpanKind.SERVER, 1).getFirst();
            assertEquals("POST /v1/chat/completions", http.getName());
            assertEquals(CLIENT_SPAN, http.getParentSpanId(), "the client's span is the HTTP span's parent");
            var attributes = http.getAttributes();
            assertEquals("chat", attributes.get(io.opentelemetry.api.common.AttributeKey.stringKey("gen_ai.operation.name")));
            assertEquals("tiny-k2", attributes.get(io.opentelemetry.api.common.AttributeKey.stringKey("gen_ai.request.model")));
            assertEquals(3L, attributes.get(io.opentelemetry.api.common.AttributeKey.longKey("gen_ai.request.max_tokens")));
            assertEquals(0.0, attributes.get(io.opentelemetry.api.common.AttributeKey.doubleKey("gen_ai.request.temperature")));
            assertEquals(3L, attributes.get(io.opentelemetry.api.common.AttributeKey.longKey("gen_ai.usage.output_tokens")));
            assertTrue(attributes.get(io.opentelemetry.api.common.AttributeKey.longKey("gen_ai.usage.input_tokens")) > 0);
            assertEquals(List.of("length"), attributes.get(io.opentelemetry.api.common.AttributeKey.stringArrayKey("gen_ai.response.finish_reasons")));
            assertTrue(attributes.get(io.opentelemetry.api.common.AttributeKey.stringKey("gen_ai.response.id")).startsWith("chatcmpl"));
            assertEquals(200L, attributes.get(io.opentelemetry.api.common.AttributeKey.longKey("http.response.status_code")));

            List<SpanData> router = inTrace(routerSpans.getFinishedSpanItems(), CLIENT_TRACE);
            for (String name : List.of("queue", "admission")) {
                assertEquals(http.getSpanId(), only(router, name).getParentSpanId(), name + " is a child of the HTTP span");
            }
            List<SpanData> steps = named(router, "step");
            assertEquals(3, steps.size(), "the prompt and two decode steps");
            Set<String> stepIds = steps.stream().map(SpanData::getSpanId).collect(Collectors.toSet());
            for (SpanData step : steps) {
                assertEquals(http.getSpanId(), step.getParentSpanId(), "a lone request's steps are its children");
            }
            List<SpanData> layers = router.stream().filter(s -> s.getName().startsWith("experts layer ")
                    || s.getName().startsWith("attention layer ")).toList();
            assertFalse(layers.isEmpty());
            assertTrue(layers.stream().allMatch(layer -> stepIds.contains(layer.getParentSpanId())), "layer spans under the steps");
            List<SpanData> servers = awaitSpans(serviceSpans, CLIENT_TRACE, SpanKind.SERVER, 2);
            Set<String> served = servers.stream().map(SpanData::getName).collect(Collectors.toSet());
            assertTrue(served.containsAll(Set.of(ATTEND, FORWARD)), "the services' spans are in the request's trace: " + served);
        }
    }

    @Test
    void aStepSharedByTwoRequestsIsAChildOfOneAndLinkedToTheOther() throws Exception {
        InMemorySpanExporter routerSpans = InMemorySpanExporter.create();
        InMemorySpanExporter serviceSpans = InMemorySpanExporter.create();
        try (OpenTelemetrySdk routerTelemetry = sdk(routerSpans, Sampler.parentBased(Sampler.traceIdRatioBased(1.0)));
             OpenTelemetrySdk serviceTelemetry = sdk(serviceSpans, Sampler.parentBased(Sampler.alwaysOn()));
             InProcessFleet fleet = InProcessFleet.start(MODEL, 2, 1, routerTelemetry, serviceTelemetry);
             RouterService api = serve(fleet, routerTelemetry)) {
            String body = """
                    {"model": "tiny-k2", "prompt": [5, 6, 7], "max_tokens": 24, "temperature": 0, "ignore_eos": true}""";
            var first = java.util.concurrent.CompletableFuture.supplyAsync(() -> postUnchecked(api, body));
            var second = java.util.concurrent.CompletableFuture.supplyAsync(() -> postUnchecked(api, body));
            assertEquals(200, first.get().statusCode());
            assertEquals(200, second.get().statusCode());
            Thread.sleep(200);

            List<SpanData> requests = routerSpans.getFinishedSpanItems().stream().filter(s -> s.getKind() == SpanKind.SERVER).toList();
            assertEquals(2, requests.size());
            Map<String, SpanData> byId = routerSpans.getFinishedSpanItems().stream()
                    .collect(Collectors.toMap(SpanData::getSpanId, Function.identity()));
            int shared = 0;
            for (SpanData step : named(routerSpans.getFinishedSpanItems(), "step")) {
                if (step.getLinks().isEmpty()) {
                    continue;
                }
                shared++;
                SpanData lead = byId.get(step.getParentSpanId());
                SpanData other = byId.get(step.getLinks().getFirst().getSpanContext().getSpanId());
                assertTrue(lead != null && lead.getKind() == SpanKind.SERVER, "a shared step is a child of one request");
                assertTrue(other != null && other.getKind() == SpanKind.SERVER && other != lead, "... and linked to the other");
                assertTrue(other.getLinks().stream().anyMatch(l -> l.getSpanContext().getSpanId().equals(step.getSpanId())),
                        "the other request's span links back to the step");
            }
            assertTrue(shared > 0, "the two requests shared no step");
        }
    }

    @Test
    void anExpertCallLeftOpenByAFailedStepIsEndedAsFailed() throws Exception {
        InMemorySpanExporter routerSpans = InMemorySpanExporter.create();
        try (OpenTelemetrySdk routerTelemetry = sdk(routerSpans, Sampler.alwaysOn());
             InProcessFleet fleet = InProcessFleet.start(MODEL, 2, 1, routerTelemetry, io.opentelemetry.api.OpenTelemetry.noop())) {
            ModelConfig config = fleet.router.transformer().config();
            TracedExperts experts = new TracedExperts(fleet.router.shards(), routerTelemetry, new LayerCallRecorder(),
                    new FleetMetrics(new ExpertLoad(config.numHiddenLayers(), config.nRoutedExperts(), config::isMoeLayer), null, null));
            int layer = config.firstKDenseReplace();
            float[][] xs = new float[1][config.hiddenSize()];
            io.moefleet.model.forward.Routing[] routings = {new io.moefleet.model.forward.Routing(new int[] {0, 1}, new float[] {0.5f, 0.5f}, 0, 0)};
            UnfinishedSpans unfinished = new UnfinishedSpans();
            try (var ignored = unfinished.storeIn(io.opentelemetry.context.Context.current()).makeCurrent()) {
                experts.dispatch(layer, xs, 1, routings);   // the step fails before this layer's combine
            }
            assertEquals(List.of(), named(routerSpans.getFinishedSpanItems(), "experts layer " + layer), "still open");
            unfinished.failAll(new IllegalStateException("the shared experts failed"));
            SpanData span = only(routerSpans.getFinishedSpanItems(), "experts layer " + layer);
            assertEquals(io.opentelemetry.api.trace.StatusCode.ERROR, span.getStatus().getStatusCode());
            assertEquals("the shared experts failed", span.getStatus().getDescription());
        }
    }

    private static RouterService serve(InProcessFleet fleet, OpenTelemetrySdk telemetry) {
        return RouterService.start(fleet.router.transformer(), MODEL, new RouterService.Settings("tiny-k2", "127.0.0.1", 0,
                io.moefleet.router.scheduler.SchedulerLimits.DEFAULT), chunks -> fleet.router.step(chunks),
                fleet.router::admit, () -> true, telemetry);
    }

    private static HttpResponse<String> post(RouterService api, String path, String traceparent, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + api.port() + path))
                .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (traceparent != null) {
            request.header("traceparent", traceparent);
        }
        return HttpClient.newHttpClient().send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> postUnchecked(RouterService api, String body) {
        try {
            return post(api, "/v1/completions", null, body);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static OpenTelemetrySdk sdk(InMemorySpanExporter exporter, Sampler sampler) {
        return OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().setSampler(sampler)
                        .addSpanProcessor(SimpleSpanProcessor.create(exporter)).build())
                .setPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()))
                .build();
    }

    /**
     * The trace's spans of {@code kind} once there are at least {@code atLeast}, and a moment later all of them: a gRPC
     * span ends just after its call completes, on a transport thread.
     */
    private static List<SpanData> awaitSpans(InMemorySpanExporter exporter, String trace, SpanKind kind, int atLeast)
            throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (spans(exporter, trace, kind).size() < atLeast && System.nanoTime() < end) {
            Thread.sleep(10);
        }
        Thread.sleep(200);
        List<SpanData> spans = spans(exporter, trace, kind);
        assertFalse(spans.size() < atLeast, "only " + spans.size() + " " + kind + " spans of at least " + atLeast);
        return spans;
    }

    private static List<SpanData> spans(InMemorySpanExporter exporter, String trace, SpanKind kind) {
        return inTrace(exporter.getFinishedSpanItems(), trace).stream().filter(s -> s.getKind() == kind).toList();
    }

    private static List<SpanData> inTrace(List<SpanData> spans, String trace) {
        return spans.stream().filter(s -> s.getTraceId().equals(trace)).toList();
    }

    private static List<SpanData> named(List<SpanData> spans, String name) {
        return spans.stream().filter(s -> s.getName().equals(name)).toList();
    }

    private static SpanData only(List<SpanData> spans, String name) {
        List<SpanData> found = named(spans, name);
        assertEquals(1, found.size(), "spans named " + name);
        return found.getFirst();
    }

    private static Map<String, Long> longAttributes(SpanData span) {
        return span.getAttributes().asMap().entrySet().stream()
                .filter(e -> e.getValue() instanceof Long)
                .collect(Collectors.toMap(e -> e.getKey().getKey(), e -> (Long) e.getValue()));
    }
}
