package io.moefleet.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.core.JsonValue;
import com.anthropic.core.http.StreamResponse;
import com.anthropic.errors.NotFoundException;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.ThinkingConfigDisabled;
import com.anthropic.models.messages.Tool;
import com.anthropic.models.messages.ToolChoiceNone;
import com.anthropic.models.messages.ToolChoiceTool;
import com.anthropic.models.messages.ToolResultBlockParam;
import com.anthropic.models.messages.ToolUseBlock;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code POST /v1/messages} through the official Anthropic Java SDK against the real server (responses validated
 * against the SDK's model); its errors, and a client gone early, over plain HTTP.
 */
class AnthropicMessagesTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonValue GREEDY = JsonValue.from(0.0);

    @TempDir
    static Path checkpoint;
    private static ApiFixture api;
    private static AnthropicClient client;
    private static HttpClient http;

    @BeforeAll
    static void start() throws Exception {
        api = ApiFixture.start(checkpoint);
        client = AnthropicOkHttpClient.builder().baseUrl(api.baseUrl()).apiKey("unused").maxRetries(0)
                .responseValidation(true).build();
        http = HttpClient.newHttpClient();
    }

    @AfterAll
    static void stop() throws Exception {
        http.close();
        client.close();
        api.close();
    }

    private static MessageCreateParams.Builder greedy(String user, long maxTokens) {
        return MessageCreateParams.builder().model(ApiFixture.MODEL).maxTokens(maxTokens).addUserMessage(user)
                .putAdditionalBodyProperty("temperature", GREEDY);
    }

    private static ThinkingConfigDisabled noThinking() {
        return ThinkingConfigDisabled.builder().build();
    }

    @Test
    void aSystemAndUserMessageAnswersWithTextUsageAndAStopReason() {
        Message message = client.messages().create(greedy("Hello there", 12).system("You are a terse assistant.")
                .thinking(noThinking()).build());
        assertTrue(message.id().startsWith("msg_"), message.id());
        assertEquals(ApiFixture.MODEL, message.model().asString());
        assertFalse(message.content().isEmpty(), message.toString());
        assertTrue(message.content().stream().allMatch(ContentBlock::isText), message.toString());
        assertFalse(text(message).isBlank());
        StopReason stop = message.stopReason().orElseThrow();
        assertTrue(stop.equals(StopReason.END_TURN) || stop.equals(StopReason.MAX_TOKENS), stop.toString());
        assertTrue(message.stopSequence().isEmpty());
        assertTrue(message.usage().outputTokens() >= 1 && message.usage().outputTokens() <= 12, message.usage().toString());

        // the system prompt is rendered: it takes more prompt tokens than Kimi's default one
        Message withoutSystem = client.messages().create(greedy("Hello there", 1).thinking(noThinking()).build());
        assertTrue(message.usage().inputTokens() > 3);
        assertTrue(message.usage().inputTokens() != withoutSystem.usage().inputTokens(), message.usage() + " vs " + withoutSystem.usage());
    }

    @Test
    void streamingGivesTheSameMessageInAnthropicsEventSequence() {
        for (boolean thinking : new boolean[] {true, false}) {
            MessageCreateParams.Builder builder = greedy("Tell me a story", 16).system("Be creative.");
            MessageCreateParams params = thinking ? builder.enabledThinking(1024).build() : builder.thinking(noThinking()).build();
            Message whole = client.messages().create(params);

            List<RawMessageStreamEvent> events = new ArrayList<>();
            MessageAccumulator accumulator = MessageAccumulator.create();
            try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(params)) {
                stream.stream().forEach(event -> events.add(accumulator.accumulate(event)));
            }
            assertEventSequence(events);
            Message streamed = accumulator.message();
            assertEquals(whole.content().size(), streamed.content().size(), whole + "\n" + streamed);
            assertEquals(text(whole), text(streamed));
            assertEquals(thinkingText(whole), thinkingText(streamed));
            assertEquals(thinking, !thinkingText(whole).isEmpty(), "reasoning only when thinking: " + whole);
            assertEquals(whole.stopReason(), streamed.stopReason());
            assertEquals(whole.usage().inputTokens(), streamed.usage().inputTokens());
            assertEquals(whole.usage().outputTokens(), streamed.usage().outputTokens());
        }
    }

    /** message_start, then per block start / deltas / stop with indices 0, 1, ..., then message_delta, message_stop. */
    private static void assertEventSequence(List<RawMessageStreamEvent> events) {
        assertTrue(events.size() >= 4, events.toString());
        assertTrue(events.getFirst().isMessageStart(), events.getFirst().toString());
        assertTrue(events.getFirst().asMessageStart().message().content().isEmpty());
        assertTrue(events.getFirst().asMessageStart().message().usage().inputTokens() > 3);
        assertTrue(events.get(events.size() - 2).isMessageDelta(), events.toString());
        assertTrue(events.getLast().isMessageStop(), events.toString());
        long open = -1;
        long blocks = 0;
        for (RawMessageStreamEvent event : events.subList(1, events.size() - 2)) {
            if (event.isContentBlockStart()) {
                assertEquals(-1, open, "a block starts while another is open: " + events);
                open = event.asContentBlockStart().index();
                assertEquals(blocks++, open);
            } else if (event.isContentBlockDelta()) {
                assertEquals(open, event.asContentBlockDelta().index());
            } else {
                assertTrue(event.isContentBlockStop(), event.toString());
                assertEquals(open, event.asContentBlockStop().index());
                open = -1;
            }
        }
        assertEquals(-1, open, "every block is stopped");
        assertTrue(blocks >= 1, events.toString());
    }

    @Test
    void aForcedToolUseMatchesItsSchemaAndItsResultLeadsToAnAnswer() throws Exception {
        Tool weather = Tool.builder().name("weather").description("The weather in a city for some days")
                .inputSchema(Tool.InputSchema.builder()
                        .properties(JsonValue.from(Map.of(
                                "city", Map.of("type", "string", "maxLength", 8),
                                "unit", Map.of("enum", List.of("c", "f")),
                                "days", Map.of("type", "integer", "minimum", 1, "maximum", 7))))
                        .required(List.of("city", "unit", "days"))
                        .putAdditionalProperty("additionalProperties", JsonValue.from(false))
                        .build())
                .build();
        MessageCreateParams ask = greedy("What is the weather in Paris?", 64).addTool(weather)
                .toolChoice(ToolChoiceTool.builder().name("weather").build()).thinking(noThinking()).build();
        Message called = client.messages().create(ask);
        assertEquals(StopReason.TOOL_USE, called.stopReason().orElseThrow(), called.toString());
        List<ToolUseBlock> uses = called.content().stream().filter(ContentBlock::isToolUse).map(ContentBlock::asToolUse).toList();
        assertEquals(1, uses.size(), called.toString());
        ToolUseBlock use = uses.getFirst();
        assertEquals("weather", use.name());
        assertTrue(use.id().matches("functions\\.weather:\\d+"), use.id());
        JsonNode input = JSON.valueToTree(use._input().convert(Object.class));
        assertEquals(3, input.size(), input.toString());
        String city = input.path("city").asText();
        assertTrue(input.path("city").isTextual() && city.codePointCount(0, city.length()) <= 8, input.toString());
        assertTrue(List.of("c", "f").contains(input.path("unit").asText()), input.toString());
        assertTrue(input.path("days").isIntegralNumber() && input.path("days").asInt() >= 1 && input.path("days").asInt() <= 7,
                input.toString());

        // streamed, the input arrives as partial JSON that the SDK assembles into the same object
        MessageAccumulator accumulator = MessageAccumulator.create();
        try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(ask)) {
            stream.stream().forEach(accumulator::accumulate);
        }
        ToolUseBlock streamedUse = accumulator.message().content().stream().filter(ContentBlock::isToolUse).findFirst()
                .orElseThrow().asToolUse();
        assertEquals(use.id(), streamedUse.id());
        assertEquals(input, JSON.valueToTree(streamedUse._input().convert(Object.class)));

        Message answer = client.messages().create(ask.toBuilder()
                .addMessage(called)
                .addUserMessageOfContentBlockParams(List.of(ContentBlockParam.ofToolResult(ToolResultBlockParam.builder()
                        .toolUseId(use.id()).content("18 degrees, sunny").build())))
                .toolChoice(ToolChoiceNone.builder().build())
                .build());
        StopReason stop = answer.stopReason().orElseThrow();
        assertTrue(stop.equals(StopReason.END_TURN) || stop.equals(StopReason.MAX_TOKENS), answer.toString());
        assertTrue(answer.content().stream().noneMatch(ContentBlock::isToolUse), answer.toString());
        assertFalse(text(answer).isEmpty(), answer.toString());
        assertTrue(answer.usage().inputTokens() > called.usage().inputTokens(), "the call and its result are in the prompt");
    }

    @Test
    void thinkingComesBackAsAThinkingBlockOnlyWhenEnabled() {
        Message thinking = client.messages().create(greedy("Why is the sky blue?", 8).enabledThinking(1024).build());
        ContentBlock first = thinking.content().getFirst();
        assertTrue(first.isThinking(), thinking.toString());
        assertFalse(first.asThinking().thinking().isBlank());
        assertEquals("", first.asThinking().signature());

        Message plain = client.messages().create(greedy("Why is the sky blue?", 8).thinking(noThinking()).build());
        assertTrue(plain.content().stream().noneMatch(ContentBlock::isThinking), plain.toString());
        assertFalse(text(plain).isBlank(), plain.toString());

        // absent, the checkpoint's default holds: Kimi's template thinks
        Message byDefault = client.messages().create(greedy("Why is the sky blue?", 8).build());
        assertEquals(thinkingText(thinking), thinkingText(byDefault));
    }

    @Test
    void aStopSequenceEndsTheMessageWithoutIt() {
        MessageCreateParams free = greedy("Write a long poem", 32).thinking(noThinking()).build();
        String text = text(client.messages().create(free));
        String stop = stopSequenceIn(text);
        String expected = text.substring(0, text.indexOf(stop));

        MessageCreateParams stopped = free.toBuilder().stopSequences(List.of("never in this text \u0001", stop)).build();
        Message message = client.messages().create(stopped);
        assertEquals(StopReason.STOP_SEQUENCE, message.stopReason().orElseThrow(), message.toString());
        assertEquals(stop, message.stopSequence().orElseThrow());
        assertEquals(expected, text(message));
        assertFalse(text(message).contains(stop));

        MessageAccumulator accumulator = MessageAccumulator.create();
        try (StreamResponse<RawMessageStreamEvent> stream = client.messages().createStreaming(stopped)) {
            stream.stream().forEach(accumulator::accumulate);
        }
        assertEquals(StopReason.STOP_SEQUENCE, accumulator.message().stopReason().orElseThrow());
        assertEquals(stop, accumulator.message().stopSequence().orElseThrow());
        assertEquals(expected, text(accumulator.message()));
    }

    /** Three characters from the middle of {@code text}, picked so that the text before their first occurrence has a word. */
    private static String stopSequenceIn(String text) {
        for (int at = text.length() / 2; at + 3 <= text.length(); at++) {
            String candidate = text.substring(at, at + 3);
            if (!candidate.isBlank() && !text.substring(0, text.indexOf(candidate)).isBlank()) {
                return candidate;
            }
        }
        throw new AssertionError("no stop sequence to pick in '" + text + "'");
    }

    @Test
    void errorsComeInAnthropicsShape() throws Exception {
        assertError(400, "invalid_request_error", "not valid JSON", "{\"model\": ");
        assertError(400, "invalid_request_error", "'max_tokens' is required",
                "{\"model\": \"" + ApiFixture.MODEL + "\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
        assertError(404, "not_found_error", "'claude-sonnet-4-5' does not exist",
                "{\"model\": \"claude-sonnet-4-5\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
        assertError(400, "invalid_request_error", "'max_tokens' must be an integer",
                "{\"model\": \"" + ApiFixture.MODEL + "\", \"max_tokens\": \"five\", \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}");
        assertError(400, "invalid_request_error", "'messages[0].content[0].type' is 'image'",
                "{\"model\": \"" + ApiFixture.MODEL + "\", \"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": "
                        + "[{\"type\": \"image\", \"source\": {\"type\": \"url\", \"url\": \"http://x/y.png\"}}]}]}");

        NotFoundException notFound = assertThrows(NotFoundException.class, () -> client.messages().create(
                MessageCreateParams.builder().model("claude-opus-4-1").maxTokens(5).addUserMessage("Hi").build()));
        assertEquals(404, notFound.statusCode());
    }

    @Test
    void aClientGoneBeforeItsMessageJoinsTheBatchIsNeverRun() throws Exception {
        // a long prompt: rendering and encoding it on a worker takes a while, and the client is gone before it ends
        double cancelled = metric("moefleet_scheduler_cancelled_total");
        ObjectNode body = JSON.createObjectNode().put("model", ApiFixture.MODEL).put("max_tokens", 64).put("stream", true);
        body.putArray("messages").addObject().put("role", "user")
                .put("content", "Which experts will the router pick for this token, and why? ".repeat(2_000));
        byte[] bytes = JSON.writeValueAsBytes(body);
        try (Socket socket = new Socket("127.0.0.1", api.port)) {
            OutputStream out = socket.getOutputStream();
            out.write(("POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + bytes.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(bytes);
            out.flush();
        }
        long deadline = System.currentTimeMillis() + 10_000;
        while (metric("moefleet_scheduler_cancelled_total") < cancelled + 1 || metric("moefleet_scheduler_running") > 0) {
            assertTrue(System.currentTimeMillis() < deadline, "the message of a client gone is cancelled");
            Thread.sleep(20);
        }
        assertEquals(cancelled + 1, metric("moefleet_scheduler_cancelled_total"));
    }

    /** A series' value in {@code /metrics} (its first sample). */
    private static double metric(String series) throws Exception {
        String text = http.send(HttpRequest.newBuilder(URI.create(api.baseUrl() + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Matcher value = Pattern.compile("(?m)^" + Pattern.quote(series) + "(?:\\{[^}]*})? (\\S+)$").matcher(text);
        assertTrue(value.find(), "no " + series + " in " + text);
        return Double.parseDouble(value.group(1));
    }

    private static void assertError(int status, String type, String message, String body) throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(api.baseUrl() + "/v1/messages"))
                .header("content-type", "application/json").header("anthropic-version", "2023-06-01")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(status, response.statusCode(), response.body());
        JsonNode json = JSON.readTree(response.body());
        assertEquals("error", json.path("type").asText(), response.body());
        assertEquals(type, json.at("/error/type").asText(), response.body());
        assertTrue(json.at("/error/message").asText().contains(message), response.body());
    }

    private static String text(Message message) {
        StringBuilder text = new StringBuilder();
        message.content().stream().filter(ContentBlock::isText).forEach(block -> text.append(block.asText().text()));
        return text.toString();
    }

    private static String thinkingText(Message message) {
        StringBuilder text = new StringBuilder();
        message.content().stream().filter(ContentBlock::isThinking).forEach(block -> text.append(block.asThinking().thinking()));
        return text.toString();
    }
}
