package io.moefleet.chat.generation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.ChatEncoder;
import io.moefleet.chat.output.AssistantMessage;
import io.moefleet.chat.output.ChatDelta;
import io.moefleet.chat.output.KimiMarkers;
import io.moefleet.chat.output.ToolCall;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.engine.Engine;
import io.moefleet.grammar.JsonLimits;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Generation on a generated checkpoint with random weights: whatever such a model prefers, the grammar decides what a
 * tool call may look like, and the parsers read back what was generated.
 */
class ChatGeneratorTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String TOOLS = """
            [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object",
               "properties": {"city": {"type": "string", "maxLength": 8}, "unit": {"enum": ["c", "f"]}},
               "required": ["city"], "additionalProperties": false}}},
             {"type": "function", "function": {"name": "add", "parameters": {"type": "object",
               "properties": {"a": {"type": "number", "minimum": -50, "maximum": 50},
                              "b": {"type": "integer", "minimum": 0, "maximum": 9},
                              "exact": {"type": "boolean"}},
               "required": ["a", "b"]}}}]""";
    /** Bounds that keep a call within 64 tokens even when the model fills every string and number to the limit. */
    private static final JsonLimits LIMITS = new JsonLimits(8, 3, 2, 2, 2, 1, 1);

    @TempDir
    static Path checkpoint;
    private static Engine engine;
    private static ChatEncoder encoder;
    private static ChatGenerator generator;
    private static Map<String, JsonNode> schemas;

    @BeforeAll
    static void open() throws IOException {
        CheckpointWriter.write(Preset.config("tiny"), 11, WeightFormat.BF16, checkpoint);
        engine = Engine.open(checkpoint, (done, total) -> { });
        encoder = ChatEncoder.load(checkpoint);
        generator = new ChatGenerator(engine, encoder);
        schemas = Map.of("weather", JSON.readTree(TOOLS).get(0).at("/function/parameters"),
                "add", JSON.readTree(TOOLS).get(1).at("/function/parameters"));
    }

    @AfterAll
    static void close() {
        encoder.close();
        engine.close();
    }

    @Test
    void toolChoiceRequiredCompletesAValidCallToADeclaredToolWithin64Tokens() throws IOException {
        for (int seed = 0; seed < 20; seed++) {
            ChatRequest request = request(seed, """
                    "messages": [{"role": "user", "content": "Weather in Paris, and 2 + 3?"}],
                    "tool_choice": "required", "parallel_tool_calls": false, "max_tokens": 64,
                    "chat_template_kwargs": {"thinking": false}""");
            Generation generation = generate(request);
            ChatResult result = generation.result();
            assertEquals(FinishReason.TOOL_CALLS, result.finishReason(), () -> "seed " + result);
            assertTrue(result.completionTokens().length <= 64);
            assertEquals("", result.message().content());
            assertEquals(1, result.message().toolCalls().size());
            assertValidCall(result.message().toolCalls().getFirst());
        }
    }

    @Test
    void underAutoAContinuedMessageThatOpensASectionOnlyCallsDeclaredTools() throws IOException {
        int calls = 0;
        for (int seed = 0; seed < 20; seed++) {
            ChatRequest request = request(seed, """
                    "messages": [{"role": "user", "content": "Weather in Paris?"},
                                 {"role": "assistant", "content": "Let me check.<|tool_calls_section_begin|>"}],
                    "continue_final_message": true, "tool_choice": "auto", "max_tokens": 64""");
            Generation generation = generate(request);
            AssistantMessage message = generation.result().message();
            assertEquals("Let me check.", message.content());
            assertFalse(message.toolCalls().isEmpty(), "the open section needs a call");
            for (ToolCall call : message.toolCalls()) {
                assertTrue(schemas.containsKey(call.name()), call.toString());
                if (call.error().isEmpty()) {
                    assertValidCall(call);
                } else {
                    assertTrue(call.error().get().contains("ends before"), call.toString());   // only cut by max_tokens
                }
                calls++;
            }
        }
        assertTrue(calls >= 20);
    }

    @Test
    void aContinuedThinkBlockEndsWhereTheBiasPutsTheEndOfThinkingAndTheAnswerFollows() throws IOException {
        int thinkEnd = encoder.tokenizer().specialTokens().id(KimiMarkers.THINK_END).orElseThrow();
        ChatRequest request = request(3, """
                "messages": [{"role": "user", "content": "Think first."},
                             {"role": "assistant", "content": "<think>Let me think"}],
                "continue_final_message": true, "max_tokens": 12""")
                .withStepBias(new StepBias(4, Map.of(thinkEnd, 100f)));
        Generation generation = generate(request);
        int[] tokens = generation.result().completionTokens();
        assertEquals(thinkEnd, tokens[4]);
        String generated = encoder.tokenizer().decode(Arrays.stream(tokens)
                .filter(id -> Arrays.stream(encoder.tokenizer().sequenceMarkers().eos()).noneMatch(end -> end == id)).toArray());
        int end = generated.indexOf(KimiMarkers.THINK_END);
        AssistantMessage message = generation.result().message();
        assertEquals("Let me think" + generated.substring(0, end), message.reasoning());
        assertEquals(generated.substring(end + KimiMarkers.THINK_END.length()), message.content());
        assertFalse(message.content().isEmpty() && generation.result().finishReason() == FinishReason.LENGTH);
    }

    @Test
    void toolChoiceNoneKeepsTheSectionClosedEvenWhenTheSamplerPushesTowardsIt() throws IOException {
        int sectionBegin = encoder.tokenizer().specialTokens().id(KimiMarkers.TOOL_CALLS_BEGIN).orElseThrow();
        StepBias push = new StepBias(0, Map.of(sectionBegin, 100f));
        String conversation = """
                "messages": [{"role": "user", "content": "Weather in Paris?"}], "max_tokens": 8,
                "chat_template_kwargs": {"thinking": false}, """;
        for (int seed = 0; seed < 5; seed++) {
            ChatResult none = generate(request(seed, conversation + "\"tool_choice\": \"none\"").withStepBias(push)).result();
            assertTrue(none.message().toolCalls().isEmpty());
            assertTrue(KimiMarkers.ALL.stream().noneMatch(none.message().content()::contains), none.message().content());
            ChatResult auto = generate(request(seed, conversation + "\"tool_choice\": \"auto\"").withStepBias(push)).result();
            assertEquals(sectionBegin, auto.completionTokens()[0], "the same push opens a section under auto");
        }
    }

    @Test
    void aNamedToolChoiceForcesThatTool() throws IOException {
        for (String name : schemas.keySet()) {
            for (int seed = 0; seed < 3; seed++) {
                ChatResult result = generate(request(seed, """
                        "messages": [{"role": "user", "content": "Go"}], "max_tokens": 64, "chat_template_kwargs": {"thinking": false},
                        "tool_choice": {"type": "function", "function": {"name": "%s"}}""".formatted(name))).result();
                assertEquals(FinishReason.TOOL_CALLS, result.finishReason());
                assertEquals(name, result.message().toolCalls().getFirst().name());
                assertValidCall(result.message().toolCalls().getFirst());
            }
        }
    }

    @Test
    void aJsonSchemaResponseFormatMakesTheContentAValueOfTheSchema() throws IOException {
        for (int seed = 0; seed < 5; seed++) {
            ChatResult result = generate(request(seed, """
                    "messages": [{"role": "user", "content": "Weather as JSON"}], "max_tokens": 64,
                    "chat_template_kwargs": {"thinking": false}, "tool_choice": "none",
                    "response_format": {"type": "json_schema", "json_schema": {"name": "w", "schema":""" + schemas.get("weather") + "}}"))
                    .result();
            assertEquals(FinishReason.STOP, result.finishReason());
            assertEquals(List.of(), SchemaValidator.problems(schemas.get("weather"), JSON.readTree(result.message().content())));
        }
    }

    @Test
    void aContinuedMessageTheConstraintsForbidIsRejected() throws IOException {
        ChatRequest request = request(1, """
                "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Sure"}],
                "continue_final_message": true, "tool_choice": "required", "chat_template_kwargs": {"thinking": false}""");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> generator.generate(request));
        assertTrue(e.getMessage().contains("cannot be continued"), e.getMessage());
    }

    private static ChatRequest request(int seed, String fields) throws IOException {
        ObjectNode body = (ObjectNode) JSON.readTree("{" + fields + "}");
        body.set("tools", JSON.readTree(TOOLS));
        body.put("seed", seed);
        return ChatRequest.fromJson(body).withJsonLimits(LIMITS);
    }

    private record Generation(ChatResult result, List<ChatDelta> deltas) {}

    /** Generates, and checks that the streamed deltas add up to the final message. */
    private static Generation generate(ChatRequest request) {
        List<ChatDelta> deltas = new ArrayList<>();
        ChatResult result = generator.generate(request, deltas::add);
        assertEquals(result.message(), reassemble(deltas, result.message()));
        return new Generation(result, deltas);
    }

    private static AssistantMessage reassemble(List<ChatDelta> deltas, AssistantMessage message) {
        StringBuilder reasoning = new StringBuilder();
        StringBuilder content = new StringBuilder();
        List<ToolCall> calls = new ArrayList<>();
        for (ChatDelta delta : deltas) {
            switch (delta) {
                case ChatDelta.Reasoning r -> reasoning.append(r.text());
                case ChatDelta.Content c -> content.append(c.text());
                case ChatDelta.ToolCallStart start -> calls.add(new ToolCall(start.index(), start.id(), start.name(), "",
                        message.toolCalls().size() > start.index() ? message.toolCalls().get(start.index()).error() : Optional.empty()));
                case ChatDelta.ToolCallArguments piece -> {
                    ToolCall open = calls.removeLast();
                    calls.add(new ToolCall(open.index(), open.id(), open.name(), open.arguments() + piece.text(), open.error()));
                }
            }
        }
        return new AssistantMessage(reasoning.toString(), content.toString(), calls);
    }

    private static void assertValidCall(ToolCall call) throws IOException {
        assertTrue(call.isValid(), call.toString());
        assertTrue(call.id().matches("functions\\." + call.name() + ":\\d+"), call.id());
        JsonNode schema = schemas.get(call.name());
        assertTrue(schema != null, "declared: " + call.name());
        assertEquals(List.of(), SchemaValidator.problems(schema, JSON.readTree(call.arguments())), call.arguments());
    }
}
