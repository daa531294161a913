package io.moefleet.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.BugDetectors;
import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.model.compute.Workers;
import io.moefleet.router.scheduler.SchedulerLimits;
import io.moefleet.router.scheduler.TrackingAttention;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * Any request body through the whole API: the routes' parsing and checks, the chat template, the answer grammar, the
 * scheduler and the engine on a generated {@code tiny} checkpoint. Every body ends, within {@link #ANSWER_WITHIN}, in
 * an answer or an error in its API's shape that is not a server error (no 500, no 503; a stream ends as its API ends
 * one), and once it has ended no sequence is left queued, running or holding KV.
 *
 * <p>The input's first byte picks the route ('0' chat completions, '1' completions, '2' Anthropic messages, '3'
 * tokenize, '4' detokenize; any byte picks one), the rest is the body. The checkpoint's context is cut to
 * {@value #CONTEXT} positions so that whatever a body asks for, its generation is short.
 */
class ApiBodiesFuzzTest {

    private static final int CONTEXT = 64;
    private static final Duration ANSWER_WITHIN = Duration.ofSeconds(20);
    private static final List<String> ROUTES = List.of("/v1/chat/completions", "/v1/completions", "/v1/messages", "/tokenize",
            "/detokenize");
    private static final Set<String> FINISH_REASONS = Set.of("stop", "length", "tool_calls");
    private static final Set<String> STOP_REASONS = Set.of("end_turn", "max_tokens", "stop_sequence", "tool_use");
    /** Error types of a server fault or of an overloaded server, which one client's requests in turn must never meet. */
    private static final Set<String> SERVER_ERRORS = Set.of("internal_error", "service_unavailable", "api_error", "overloaded_error");

    @TempDir
    static Path checkpoint;
    private static Workers workers;
    private static TrackingAttention attention;
    private static ApiFixture api;
    private static RawHttp http;
    private static boolean loopbackAllowed;

    @BeforeAll
    static void start() throws Exception {
        ObjectNode config = Preset.config("tiny");
        config.put("max_position_embeddings", CONTEXT);
        CheckpointWriter.write(config, 11, WeightFormat.BF16, checkpoint);
        workers = new Workers(2);
        api = ApiFixture.over(checkpoint, SchedulerLimits.DEFAULT, reference -> {
            attention = TrackingAttention.local(reference, workers);
            return attention.model(reference, workers);
        }, (sequence, prompt) -> attention.admission().admit(sequence, prompt));
        http = new RawHttp(api.baseUrl());
    }

    @AfterAll
    static void stop() throws Exception {
        api.close();
        workers.close();
    }

    @FuzzTest(maxDuration = "10s")
    @DictionaryEntries({"\"model\": \"tiny-chat\"", "\"messages\"", "\"role\"", "\"content\"", "\"user\"", "\"assistant\"",
            "\"system\"", "\"tool\"", "\"prompt\"", "\"tokens\"", "\"max_tokens\"", "\"max_completion_tokens\"", "\"stream\"",
            "\"stream_options\"", "\"include_usage\"", "\"n\"", "\"temperature\"", "\"top_p\"", "\"top_k\"", "\"seed\"",
            "\"stop\"", "\"stop_sequences\"", "\"logprobs\"", "\"top_logprobs\"", "\"echo\"", "\"ignore_eos\"",
            "\"logit_bias\"", "\"tools\"", "\"tool_choice\"", "\"function\"", "\"parameters\"", "\"response_format\"",
            "\"json_schema\"", "\"schema\"", "\"json_object\"", "\"return_tokens_as_token_ids\"", "\"min_tokens\"",
            "\"thinking\"", "\"budget_tokens\"", "\"tool_use\"", "\"tool_result\"", "\"input_schema\"", "\"type\"", "\"text\"",
            "\"presence_penalty\"", "\"frequency_penalty\"", "\"repetition_penalty\"", "\"chat_template_kwargs\"",
            "\"add_generation_prompt\"", "\"continue_final_message\"", "true", "null", "-1", "1e9"})
    void anyBodyEndsInAnAnswerOrAClearError(byte[] input) throws Exception {
        if (!loopbackAllowed) {
            // Jazzer (its agent in place once inputs run) reports connections as server-side request forgery: the
            // harness's own ones to the server are wanted, for the rest of this JVM (a fork of its own)
            BugDetectors.allowNetworkConnections((host, port) -> port == api.port);
            loopbackAllowed = true;
        }
        if (input.length == 0) {
            return;
        }
        String route = ROUTES.get(Math.floorMod(input[0] - '0', ROUTES.size()));
        boolean anthropic = route.equals("/v1/messages");
        HttpRequest request = http.request(route).header("content-type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Arrays.copyOfRange(input, 1, input.length))).build();
        HttpResponse<String> response;
        try {
            // the request's own timeout covers the head only: this bounds the whole answer, a stream's last event included
            response = http.client().sendAsync(request, HttpResponse.BodyHandlers.ofString())
                    .get(ANSWER_WITHIN.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("no whole answer from " + route + " within " + ANSWER_WITHIN.toSeconds() + " s (a hang)");
        }
        String type = response.headers().firstValue("content-type").orElse("");
        if (response.statusCode() == 200 && type.startsWith("text/event-stream")) {
            checkStream(response.body(), anthropic);
        } else if (response.statusCode() == 200) {
            checkAnswer(route, RawHttp.json(response.body()), response.body());
        } else {
            assertTrue(response.statusCode() >= 400 && response.statusCode() < 500, () -> "status " + response.statusCode()
                    + " from " + route + ": " + response.body());
            assertTrue(type.startsWith("application/json"), () -> "content-type " + type + " of a " + response.statusCode());
            checkError(RawHttp.json(response.body()), anthropic, response.body());
        }
        assertNothingLeft();
    }

    /** A whole answer as its route gives one: choices that ended for a known reason, a message's stop reason, tokens. */
    private static void checkAnswer(String route, JsonNode answer, String text) {
        switch (route) {
            case "/v1/chat/completions", "/v1/completions" -> {
                assertTrue(answer.path("choices").isArray() && !answer.path("choices").isEmpty(), () -> "no choices: " + text);
                for (JsonNode choice : answer.path("choices")) {
                    assertTrue(FINISH_REASONS.contains(choice.path("finish_reason").asText()), () -> "finish_reason of " + text);
                }
            }
            case "/v1/messages" -> assertTrue(STOP_REASONS.contains(answer.path("stop_reason").asText()), () -> "stop_reason of " + text);
            case "/tokenize" -> assertEquals(answer.path("tokens").size(), answer.path("count").asInt(), text);
            default -> assertTrue(answer.path("prompt").isTextual(), text);
        }
    }

    /** An error body in the route's API shape, not a server error, with a message. */
    private static void checkError(JsonNode body, boolean anthropic, String text) {
        if (anthropic) {
            assertEquals("error", body.path("type").asText(), text);
        }
        JsonNode error = body.path("error");
        assertTrue(error.path("message").isTextual() && !error.path("message").textValue().isBlank(), () -> "no message: " + text);
        assertTrue(error.path("type").isTextual() && !SERVER_ERRORS.contains(error.path("type").textValue()),
                () -> "a server error: " + text);
    }

    /** Each event's data is JSON (or OpenAI's [DONE]); the stream ends as its API ends one, or with a client error. */
    private static void checkStream(String body, boolean anthropic) {
        List<String> data = body.lines().filter(line -> line.startsWith("data: ")).map(line -> line.substring(6)).toList();
        assertTrue(!data.isEmpty(), () -> "a stream without events: " + body);
        JsonNode last = null;
        for (String event : data) {
            if (event.equals("[DONE]")) {
                continue;
            }
            JsonNode node = RawHttp.json(event);
            if (node.has("error")) {
                checkError(node, anthropic, body);
            }
            last = node;
        }
        if (anthropic) {
            String lastType = last == null ? "" : last.path("type").asText();
            assertTrue(lastType.equals("message_stop") || lastType.equals("error"), () -> "a stream that does not end: " + body);
        } else {
            assertEquals("[DONE]", data.getLast(), () -> "a stream that does not end: " + body);
        }
    }

    /** Once its answer is whole a request holds nothing: no sequence queued or running, every admitted one's KV freed. */
    private static void assertNothingLeft() throws InterruptedException {
        long deadline = System.nanoTime() + ANSWER_WITHIN.toNanos();
        while (!attention.unreleased().isEmpty()) {
            if (System.nanoTime() > deadline) {
                fail("sequences " + attention.unreleased() + " still hold KV after their answers ended");
            }
            Thread.sleep(1);
        }
        assertTrue(api.scheduler.awaitIdle(ANSWER_WITHIN), "the scheduler still holds sequences after their answers ended");
    }
}
