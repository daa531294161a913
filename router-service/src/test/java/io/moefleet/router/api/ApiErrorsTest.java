package io.moefleet.router.api;

import static io.moefleet.router.api.RawHttp.assertOpenAiError;
import static io.moefleet.router.api.RawHttp.json;
import static io.moefleet.router.api.RawHttp.retryAfter;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.moefleet.engine.Engine;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.router.scheduler.RejectedException;
import io.moefleet.router.scheduler.Scheduler;
import io.moefleet.router.scheduler.SchedulerLimits;
import io.moefleet.router.scheduler.SchedulerMetrics;
import io.moefleet.router.scheduler.SequenceAdmission;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.function.Function;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The OpenAI routes' failures over raw HTTP: each answers with its status and OpenAI's error body
 * ({@code {"error": {"message", "type", "param", "code"}}}), with Retry-After on 429 and 503, and never disturbs other
 * requests. One server over a generated {@code tiny} checkpoint serves most cases; the queue, draining and fleet-down
 * cases get their own scheduler and server (over their own engine on the same checkpoint), closed at the test's end.
 */
class ApiErrorsTest {

    private static final String CHAT = "/v1/chat/completions";
    private static final String COMPLETIONS = "/v1/completions";

    @TempDir
    static Path checkpoint;
    private static ApiFixture api;
    private static RawHttp http;

    @BeforeAll
    static void start() throws Exception {
        api = ApiFixture.start(checkpoint);
        http = new RawHttp(api.baseUrl());
    }

    @AfterAll
    static void stop() throws Exception {
        api.close();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 400: the body

    @Test
    void malformedJsonIs400() {
        for (String path : List.of(CHAT, COMPLETIONS)) {
            assertOpenAiError(http.post(path, "{\"model\": \"tiny-chat\", \"messages\": [{\"role\": \"user\""), 400,
                    "invalid_request_error", "not valid JSON");
        }
        assertOpenAiError(http.post(CHAT, "{\"model\": \"tiny-chat\"} \"echo\""), 400, "invalid_request_error", "not valid JSON");
        assertOpenAiError(http.post(CHAT, "[1, 2, 3]"), 400, "invalid_request_error", "JSON object");
        assertOpenAiError(http.post(COMPLETIONS, ""), 400, "invalid_request_error", "no body");
    }

    static Stream<Arguments> wrongTypes() {
        return Stream.of(
                Arguments.of(CHAT, "temperature", "\"hot\""),
                Arguments.of(CHAT, "max_tokens", "\"ten\""),
                Arguments.of(CHAT, "max_completion_tokens", "2.5"),
                Arguments.of(CHAT, "stop", "5"),
                Arguments.of(CHAT, "messages", "\"hello\""),
                Arguments.of(CHAT, "messages", "{\"role\": \"user\", \"content\": \"hi\"}"),
                Arguments.of(CHAT, "messages", "[]"),
                Arguments.of(CHAT, "messages", "[5]"),
                Arguments.of(CHAT, "messages", "[{\"role\": \"wizard\", \"content\": \"hi\"}]"),
                Arguments.of(CHAT, "messages", "[{\"role\": \"user\", \"content\": 5}]"),
                Arguments.of(CHAT, "top_p", "\"high\""),
                Arguments.of(CHAT, "n", "\"two\""),
                Arguments.of(CHAT, "stream", "\"yes\""),
                Arguments.of(CHAT, "logprobs", "\"yes\""),
                Arguments.of(CHAT, "stream_options", "3"),
                Arguments.of(CHAT, "stop_token_ids", "\"2\""),
                Arguments.of(CHAT, "model", "7"),
                Arguments.of(CHAT, "seed", "\"abc\""),
                Arguments.of(CHAT, "logit_bias", "\"x\""),
                Arguments.of(CHAT, "logit_bias", "{\"5\": \"big\"}"),
                Arguments.of(COMPLETIONS, "top_k", "1.5"),
                Arguments.of(COMPLETIONS, "seed", "1.5"),
                Arguments.of(COMPLETIONS, "max_tokens", "\"ten\""),
                Arguments.of(COMPLETIONS, "temperature", "[1]"),
                Arguments.of(COMPLETIONS, "logprobs", "\"many\""),
                Arguments.of(COMPLETIONS, "prompt", "{\"text\": \"hi\"}"),
                Arguments.of(COMPLETIONS, "stop", "[\"a\", 1]"));
    }

    @ParameterizedTest(name = "{0} {1}: {2}")
    @MethodSource("wrongTypes")
    void aKnownFieldOfTheWrongTypeIs400NamingTheField(String path, String field, String value) {
        ObjectNode body = validBody(path);
        body.set(field, json(value));
        assertOpenAiError(http.post(path, body.toString()), 400, "invalid_request_error", field);
    }

    static Stream<Arguments> outOfRange() {
        return Stream.of(
                Arguments.of(CHAT, "{\"temperature\": -1}", "temperature"),
                Arguments.of(CHAT, "{\"top_p\": 2}", "top_p"),
                Arguments.of(CHAT, "{\"top_p\": 0}", "top_p"),
                Arguments.of(CHAT, "{\"n\": 0}", "'n'"),
                Arguments.of(CHAT, "{\"n\": 17}", "'n'"),
                Arguments.of(CHAT, "{\"logprobs\": true, \"top_logprobs\": 21}", "top_logprobs"),
                Arguments.of(CHAT, "{\"logprobs\": true, \"top_logprobs\": -1}", "top_logprobs"),
                Arguments.of(CHAT, "{\"top_logprobs\": 3}", "top_logprobs"),
                Arguments.of(CHAT, "{\"max_tokens\": 0}", "max_tokens"),
                Arguments.of(CHAT, "{\"max_tokens\": 4, \"min_tokens\": 5}", "min_tokens"),
                Arguments.of(CHAT, "{\"presence_penalty\": 3}", "presence_penalty"),
                Arguments.of(CHAT, "{\"stop\": [\"\"]}", "stop"),
                Arguments.of(CHAT, "{\"stop_token_ids\": [1000000]}", "stop_token_ids"),
                Arguments.of(CHAT, "{\"logit_bias\": {\"1000000\": 1}}", "logit_bias"),
                Arguments.of(CHAT, "{\"logit_bias\": {\"5\": 101}}", "logit_bias"),
                Arguments.of(COMPLETIONS, "{\"logprobs\": 21}", "logprobs"),
                Arguments.of(COMPLETIONS, "{\"temperature\": -1}", "temperature"),
                Arguments.of(COMPLETIONS, "{\"n\": 0}", "'n'"),
                Arguments.of(COMPLETIONS, "{\"max_tokens\": -3}", "max_tokens"));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("outOfRange")
    void aValueOutOfRangeIs400(String path, String fields, String named) {
        ObjectNode body = validBody(path);
        body.setAll((ObjectNode) json(fields));
        assertOpenAiError(http.post(path, body.toString()), 400, "invalid_request_error", named);
    }

    @Test
    void aTokenIdPromptBeyondTheContextIs400() {
        int context = api.served.contextLength();
        for (int length : new int[] {context, context + 1}) {
            ObjectNode body = validBody(COMPLETIONS);
            ArrayNode ids = body.putArray("prompt");
            for (int i = 0; i < length; i++) {
                ids.add(5 + i % 100);
            }
            assertOpenAiError(http.post(COMPLETIONS, body.toString()), 400, "invalid_request_error", "context",
                    Integer.toString(context));
        }
    }

    @Test
    void aTextPromptBeyondTheContextIs400() {
        ObjectNode body = validBody(COMPLETIONS);
        body.put("prompt", textBeyondTheContext());
        assertOpenAiError(http.post(COMPLETIONS, body.toString()), 400, "invalid_request_error", "context",
                Integer.toString(api.served.contextLength()));
    }

    @Test
    void aChatBeyondTheContextIs400() {
        ObjectNode body = validBody(CHAT);
        ArrayNode messages = body.putArray("messages");
        messages.addObject().put("role", "system").put("content", "You are terse.");
        messages.addObject().put("role", "user").put("content", textBeyondTheContext());
        for (boolean stream : new boolean[] {false, true}) {
            body.put("stream", stream);
            assertOpenAiError(http.post(CHAT, body.toString()), 400, "invalid_request_error", "context",
                    Integer.toString(api.served.contextLength()));
        }
    }

    @Test
    void aTokenIdOutsideTheVocabularyIs400() {
        int vocab = api.served.vocabSize();
        for (String ids : List.of("[1, 2, " + vocab + "]", "[1, -1, 3]", "[1, 2.5]", "[1, 99999999999]")) {
            ObjectNode body = validBody(COMPLETIONS);
            body.set("prompt", json(ids));
            assertOpenAiError(http.post(COMPLETIONS, body.toString()), 400, "invalid_request_error", "prompt", "token id");
        }
        ObjectNode body = validBody(COMPLETIONS);
        body.set("prompt", json("[1, 2, " + vocab + "]"));
        body.put("stream", true);
        assertOpenAiError(http.post(COMPLETIONS, body.toString()), 400, "invalid_request_error", Integer.toString(vocab));
    }

    @Test
    void unknownFieldsAreIgnored() {
        for (String path : List.of(CHAT, COMPLETIONS)) {
            ObjectNode body = validBody(path);
            body.put("user", "someone");
            body.put("service_tier", "flex");
            body.put("store", false);
            body.putObject("metadata").put("tag", "x").putArray("nested").add(1).addObject().put("deep", true);
            body.put("no_such_field", 42);
            HttpResponse<String> response = http.post(path, body.toString());
            assertEquals(200, response.statusCode(), response.body());
            JsonNode json = json(response.body());
            assertEquals(1, json.path("choices").size(), response.body());
            assertTrue(json.path("usage").path("completion_tokens").asInt() >= 1, response.body());
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 404, 413

    @Test
    void anUnknownModelIs404() {
        for (String path : List.of(CHAT, COMPLETIONS)) {
            ObjectNode body = validBody(path);
            body.put("model", "gpt-17-ultra");
            assertOpenAiError(http.post(path, body.toString()), 404, "not_found_error", "gpt-17-ultra");
        }
        assertOpenAiError(http.post("/v1/no-such-route", "{}"), 404, "not_found_error", "/v1/no-such-route");
    }

    @Test
    void aBodyOverTheSizeLimitIs413() {
        long limit = Math.max(ApiServer.MIN_BODY_LIMIT, 16L * api.served.contextLength());
        ObjectNode body = validBody(COMPLETIONS);
        body.put("prompt", "a".repeat((int) limit + 1024));
        HttpResponse<String> response = http.post(COMPLETIONS, body.toString());
        assertOpenAiError(response, 413, "invalid_request_error", Long.toString(limit));
        // the server is fine afterwards
        assertEquals(200, http.post(COMPLETIONS, validBody(COMPLETIONS).toString()).statusCode());
    }

    // ---------------------------------------------------------------------------------------------------------------
    // 429, 503

    @Test
    void tooManyQueuedRequestsAre429WithRetryAfter() throws Exception {
        try (Extra extra = new Extra(ApiFixture.limits(1, 1, Duration.ofSeconds(60)), step -> step, () -> true)) {
            RawHttp client = new RawHttp(extra.baseUrl());
            // one request runs (its first event has come), so the batch is full
            HttpResponse<InputStream> running = client.client().send(
                    client.postRequest(COMPLETIONS, longCompletion(true).toString()), HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, running.statusCode());
            BufferedReader events = new BufferedReader(new InputStreamReader(running.body(), StandardCharsets.UTF_8));
            assertTrue(nextData(events).contains("text_completion"));

            // several more at once: one takes the only place in the queue, the rest are turned away
            List<CompletableFuture<HttpResponse<String>>> more = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                ObjectNode body = i % 2 == 0 ? longCompletion(false) : validBody(CHAT).put("max_tokens", 3);
                more.add(client.client().sendAsync(client.postRequest(i % 2 == 0 ? COMPLETIONS : CHAT, body.toString()),
                        HttpResponse.BodyHandlers.ofString()));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (more.stream().filter(CompletableFuture::isDone).count() < 3) {
                assertTrue(System.nanoTime() < deadline, "three of four were not turned away in time");
                Thread.sleep(10);
            }
            CompletableFuture<HttpResponse<String>> queued = null;
            for (CompletableFuture<HttpResponse<String>> future : more) {
                if (!future.isDone()) {
                    assertNull(queued, "only one waits");
                    queued = future;
                    continue;
                }
                HttpResponse<String> rejected = future.get();
                JsonNode error = assertOpenAiError(rejected, 429, "rate_limit_error", "waiting");
                assertNotNull(error);
                assertEquals(1, retryAfter(rejected));
            }
            assertNotNull(queued, "one request waits for the running one");
            assertEquals(3, extra.metrics.rejected(RejectedException.Reason.QUEUE_FULL));
            assertEquals(1.0, client.metric("moefleet_scheduler_waiting"));
            Thread.sleep(200);
            assertFalse(queued.isDone(), "the queued request waits while the batch is full");
        }
    }

    @Test
    void aDrainingServerAnswers503WithRetryAfter() throws Exception {
        try (Extra extra = new Extra(SchedulerLimits.DEFAULT, step -> step, () -> true)) {
            RawHttp client = new RawHttp(extra.baseUrl());
            assertEquals(200, client.get("/health").statusCode());
            assertEquals(200, client.post(CHAT, validBody(CHAT).toString()).statusCode());
            extra.scheduler.drain();
            for (String path : List.of(CHAT, COMPLETIONS)) {
                for (boolean stream : new boolean[] {false, true}) {
                    ObjectNode body = validBody(path).put("stream", stream);
                    HttpResponse<String> response = client.post(path, body.toString());
                    assertOpenAiError(response, 503, "service_unavailable", "draining");
                    assertTrue(retryAfter(response) >= 1);
                }
            }
            HttpResponse<String> health = client.get("/health");
            assertEquals(503, health.statusCode());
            assertEquals("draining", json(health.body()).path("status").asText());
            assertEquals(4, extra.metrics.rejected(RejectedException.Reason.DRAINING));
        }
        // the class's own server is not draining
        assertEquals(200, http.get("/health").statusCode());
    }

    @Test
    void aFleetThatIsDownFailsTheHealthCheckWith503() throws Exception {
        ApiServer down = new ApiServer(api.served, new PrometheusRegistry(), () -> false);
        int port = down.start("127.0.0.1", 0).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        try {
            HttpResponse<String> health = new RawHttp("http://127.0.0.1:" + port).get("/health");
            assertEquals(503, health.statusCode());
            assertEquals("fleet down", json(health.body()).path("status").asText());
        } finally {
            down.stop(Duration.ofMillis(100));
        }
        HttpResponse<String> health = http.get("/health");
        assertEquals(200, health.statusCode());
        assertEquals("serving", json(health.body()).path("status").asText());
    }

    @Test
    void aFailedFleetStepIs503AndTheNextRequestWorks() throws Exception {
        AtomicBoolean fleetDown = new AtomicBoolean(true);
        Function<Function<List<StepChunk>, List<float[][]>>, Function<List<StepChunk>, List<float[][]>>> failing =
                step -> chunks -> {
                    if (fleetDown.get()) {
                        throw new StatusRuntimeException(Status.UNAVAILABLE.withDescription("expert shard 2 is unreachable"));
                    }
                    return step.apply(chunks);
                };
        try (Extra extra = new Extra(SchedulerLimits.DEFAULT, failing, () -> !fleetDown.get())) {
            RawHttp client = new RawHttp(extra.baseUrl());
            for (String path : List.of(CHAT, COMPLETIONS)) {
                for (boolean stream : new boolean[] {false, true}) {
                    HttpResponse<String> response = client.post(path, validBody(path).put("stream", stream).toString());
                    assertOpenAiError(response, 503, "service_unavailable", "fleet", "UNAVAILABLE");
                    assertTrue(retryAfter(response) >= 1);
                }
            }
            assertEquals(503, client.get("/health").statusCode());
            client.awaitMetric("moefleet_scheduler_running", v -> v == 0, Duration.ofSeconds(5), "the failed requests left the batch");

            fleetDown.set(false);                               // the shard is back
            for (String path : List.of(CHAT, COMPLETIONS)) {
                HttpResponse<String> response = client.post(path, validBody(path).toString());
                assertEquals(200, response.statusCode(), response.body());
                assertTrue(json(response.body()).path("usage").path("completion_tokens").asInt() >= 1);
            }
            assertEquals(200, client.get("/health").statusCode());

            // a stream under way when the fleet fails: its head is sent, so the error comes as its last event
            HttpResponse<InputStream> stream = client.client().send(
                    client.postRequest(COMPLETIONS, longCompletion(true).toString()), HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, stream.statusCode());
            try (BufferedReader events = new BufferedReader(new InputStreamReader(stream.body(), StandardCharsets.UTF_8))) {
                assertTrue(nextData(events).contains("text_completion"));
                fleetDown.set(true);
                String data = nextData(events);
                // an "error" field, not a chunk whose text is the token "error"
                while (!json(data).has("error")) {
                    assertTrue(json(data).path("choices").path(0).path("finish_reason").isNull(), "no normal end: " + data);
                    data = nextData(events);
                }
                JsonNode error = json(data).path("error");
                assertEquals("service_unavailable", error.path("type").asText(), data);
                assertEquals(503, error.path("code").asInt(), data);
                assertTrue(error.path("message").asText().contains("UNAVAILABLE"), data);
                assertEquals("[DONE]", nextData(events));
                assertEquals("", events.readLine(), "the event's blank line");
                assertNull(events.readLine(), "the stream ends after [DONE]");
            }
            client.awaitMetric("moefleet_scheduler_running", v -> v == 0, Duration.ofSeconds(5), "the failed stream left the batch");
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // isolation

    @Test
    void oneBadRequestNeverDisturbsAStreamUnderWay() throws Exception {
        ObjectNode streamed = longCompletion(true);
        streamed.put("max_tokens", 1500);
        streamed.putObject("stream_options").put("include_usage", true);
        HttpResponse<InputStream> response = http.client().send(http.postRequest(COMPLETIONS, streamed.toString()),
                HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("content-type").orElse("").startsWith("text/event-stream"));
        StringBuilder text = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        try (BufferedReader events = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            JsonNode first = json(nextData(events));
            text.append(first.path("choices").path(0).path("text").asText());

            // bad requests of every kind while it streams
            assertOpenAiError(http.post(COMPLETIONS, "{\"model\": \"tiny-chat\", \"prompt\": [1, 2"), 400, "invalid_request_error");
            assertOpenAiError(http.post(CHAT, "{not json at all"), 400, "invalid_request_error");
            assertOpenAiError(http.post(CHAT, validBody(CHAT).put("temperature", "hot").toString()), 400, "invalid_request_error");
            assertOpenAiError(http.post(COMPLETIONS, validBody(COMPLETIONS).put("model", "nope").toString()), 404, "not_found_error");
            ObjectNode outside = validBody(COMPLETIONS);
            outside.set("prompt", json("[1, " + api.served.vocabSize() + "]"));
            assertOpenAiError(http.post(COMPLETIONS, outside.toString()), 400, "invalid_request_error");
            assertEquals(1.0, http.metric("moefleet_scheduler_running"), "the stream was still running");

            for (String data = nextData(events); !data.equals("[DONE]"); data = nextData(events)) {
                JsonNode chunk = json(data);
                assertFalse(chunk.has("error"), data);
                if (chunk.has("usage") && !chunk.path("usage").isNull()) {
                    usage = chunk.get("usage");
                    continue;
                }
                JsonNode choice = chunk.path("choices").path(0);
                text.append(choice.path("text").asText());
                if (!choice.path("finish_reason").isNull()) {
                    finish = choice.path("finish_reason").asText();
                }
            }
        }
        assertEquals("length", finish);
        assertNotNull(usage, "the usage chunk came");
        assertEquals(1500, usage.path("completion_tokens").asInt());
        // the same request alone, not streamed: the same text
        ObjectNode whole = streamed.deepCopy();
        whole.put("stream", false);
        whole.remove("stream_options");
        HttpResponse<String> alone = http.post(COMPLETIONS, whole.toString());
        assertEquals(200, alone.statusCode(), alone.body());
        assertEquals(json(alone.body()).path("choices").path(0).path("text").asText(), text.toString());
    }

    // ---------------------------------------------------------------------------------------------------------------
    // helpers

    /** A small valid request for {@code path}: greedy, 4 tokens. */
    private static ObjectNode validBody(String path) {
        ObjectNode body = RawHttp.MAPPER.createObjectNode();
        body.put("model", ApiFixture.MODEL);
        if (path.equals(CHAT)) {
            body.putArray("messages").addObject().put("role", "user").put("content", "Hello there");
        } else {
            body.put("prompt", "Once upon a time");
        }
        body.put("max_tokens", 4);
        body.put("temperature", 0);
        return body;
    }

    /** A completion that runs long: token ids, greedy, end tokens ignored. */
    private static ObjectNode longCompletion(boolean stream) {
        ObjectNode body = RawHttp.MAPPER.createObjectNode();
        body.put("model", ApiFixture.MODEL);
        body.putArray("prompt").add(17).add(230).add(41).add(99).add(512);
        body.put("max_tokens", 100_000);
        body.put("temperature", 0);
        body.put("ignore_eos", true);
        body.put("stream", stream);
        return body;
    }

    /** Text that encodes to more tokens than the model's context. */
    private static String textBeyondTheContext() {
        String unit = "Moe fleets route 17 tokens, quickly: experts & attention! ";
        int perUnit = api.encoder.tokenizer().encode(unit.repeat(64), false).length;
        String text = unit.repeat((int) ((long) api.served.contextLength() * 64 / perUnit) + 256);
        return text;
    }

    /** The next {@code data:} payload of an event stream. */
    private static String nextData(BufferedReader events) throws Exception {
        for (String line = events.readLine(); line != null; line = events.readLine()) {
            if (line.startsWith("data: ")) {
                return line.substring("data: ".length());
            }
        }
        fail("the stream ended without [DONE]");
        return null;
    }

    /**
     * A server of its own: a scheduler with {@code limits} stepping its own engine's model through {@code wrapStep}
     * (the model's step, or a wrapper of it), and an API server whose fleet health is {@code fleetHealthy}.
     */
    private static final class Extra implements AutoCloseable {

        final Engine engine;
        final SchedulerMetrics metrics;
        final Scheduler scheduler;
        final ApiServer server;
        final int port;

        Extra(SchedulerLimits limits,
                Function<Function<List<StepChunk>, List<float[][]>>, Function<List<StepChunk>, List<float[][]>>> wrapStep,
                BooleanSupplier fleetHealthy) throws Exception {
            engine = Engine.open(api.checkpoint, (done, total) -> { }, 1);
            PrometheusRegistry registry = new PrometheusRegistry();
            metrics = new SchedulerMetrics(registry);
            Transformer model = engine.model();
            scheduler = new Scheduler(model, wrapStep.apply(model::step), SequenceAdmission.NONE, limits, metrics);
            server = new ApiServer(new ServedModel(ApiFixture.MODEL, model, api.encoder, scheduler), registry, fleetHealthy::getAsBoolean);
            port = server.start("127.0.0.1", 0).toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }

        String baseUrl() {
            return "http://127.0.0.1:" + port;
        }

        @Override
        public void close() {
            server.stop(Duration.ofMillis(100));
            scheduler.close();
            engine.close();
        }
    }
}
