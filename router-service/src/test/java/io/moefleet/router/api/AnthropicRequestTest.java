package io.moefleet.router.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.ChatEncoder;
import io.moefleet.chat.generation.ToolChoice;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * How an Anthropic Messages body becomes the OpenAI-shaped chat request, and what the Kimi chat template renders of it
 * (the tiny checkpoint's template and tokenizer, no model).
 */
class AnthropicRequestTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path checkpoint;
    private static ChatEncoder encoder;

    @BeforeAll
    static void load() throws Exception {
        ApiFixture.writeCheckpoint(checkpoint);
        encoder = ChatEncoder.load(checkpoint);
    }

    @AfterAll
    static void close() {
        encoder.close();
    }

    private static final String TOOL_ROUND = """
            {"model": "m", "max_tokens": 32,
             "system": [{"type": "text", "text": "Be brief. "}, {"type": "text", "text": "Use tools."}],
             "tools": [{"name": "weather", "description": "The weather", "input_schema": {"type": "object",
                        "properties": {"city": {"type": "string"}}, "required": ["city"]}}],
             "messages": [
               {"role": "user", "content": "Weather in Paris?"},
               {"role": "assistant", "content": [
                  {"type": "thinking", "thinking": "I should look it up.", "signature": ""},
                  {"type": "text", "text": "Checking."},
                  {"type": "tool_use", "id": "%s", "name": "weather", "input": {"city": "Paris"}}]},
               {"role": "user", "content": [
                  {"type": "tool_result", "tool_use_id": "%s", "content": [{"type": "text", "text": "18 degrees"}]},
                  {"type": "text", "text": "And tomorrow?"}]}]}
            """;

    @Test
    void aKimiCallIdComesBackUnchangedInTheCallAndItsResult() throws Exception {
        String id = "functions.weather:0";
        ObjectNode openAi = AnthropicRequest.toOpenAi(body(TOOL_ROUND.formatted(id, id)));
        JsonNode messages = openAi.get("messages");
        assertEquals(5, messages.size(), messages.toString());          // system, user, assistant, tool, user
        assertEquals("Be brief. Use tools.", messages.get(0).get("content").asText());
        JsonNode assistant = messages.get(2);
        assertEquals("Checking.", assistant.get("content").asText());
        assertEquals("I should look it up.", assistant.get("reasoning_content").asText());
        assertEquals(id, assistant.at("/tool_calls/0/id").asText());
        assertEquals("weather", assistant.at("/tool_calls/0/function/name").asText());
        assertEquals("tool", messages.get(3).get("role").asText());
        assertEquals(id, messages.get(3).get("tool_call_id").asText());
        assertEquals("18 degrees", messages.get(3).get("content").asText());
        assertEquals("user", messages.get(4).get("role").asText());

        String prompt = encoder.render(AnthropicRequest.fromJson(body(TOOL_ROUND.formatted(id, id))).chat().prompt());
        assertTrue(prompt.contains("<|im_system|>system<|im_middle|>Be brief. Use tools.<|im_end|>"), prompt);
        assertTrue(prompt.contains("<|tool_call_begin|>functions.weather:0<|tool_call_argument_begin|>{\"city\": \"Paris\"}"
                + "<|tool_call_end|>"), prompt);
        assertTrue(prompt.contains("## Return of functions.weather:0\n18 degrees<|im_end|>"), prompt);
        assertTrue(prompt.contains("\"name\": \"weather\""), "the tool is declared: " + prompt);
        assertTrue(prompt.endsWith("<|im_assistant|>assistant<|im_middle|>"), prompt);
    }

    @Test
    void anotherProvidersCallIdIsRenamedAlikeInTheCallAndItsResult() throws Exception {
        String prompt = encoder.render(AnthropicRequest.fromJson(body(TOOL_ROUND.formatted("toolu_01AbC", "toolu_01AbC")))
                .chat().prompt());
        assertFalse(prompt.contains("toolu_01AbC"), prompt);
        assertTrue(prompt.contains("<|tool_call_begin|>functions.weather:0<|tool_call_argument_begin|>"), prompt);
        assertTrue(prompt.contains("## Return of functions.weather:0\n"), prompt);
    }

    @Test
    void reasoningIsRenderedWithinTheToolRoundItBelongsTo() throws Exception {
        // the tool result ends the round without a user turn: the assistant turn's reasoning is still the answer's
        String body = """
                {"model": "m", "max_tokens": 8, "messages": [
                  {"role": "user", "content": "Weather?"},
                  {"role": "assistant", "content": [{"type": "thinking", "thinking": "Look it up.", "signature": "s"},
                     {"type": "tool_use", "id": "functions.weather:0", "name": "weather", "input": {}}]},
                  {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "functions.weather:0",
                     "content": "rain", "is_error": true}]}]}
                """;
        String prompt = encoder.render(AnthropicRequest.fromJson(body(body)).chat().prompt());
        assertTrue(prompt.contains("<|im_assistant|>assistant<|im_middle|><think>Look it up.</think>"), prompt);
        assertTrue(prompt.contains("## Return of functions.weather:0\nError: rain"), prompt);
    }

    @Test
    void thinkingSwitchesTheTemplatesReasoningAndToolChoiceMaps() throws Exception {
        String base = "{\"model\": \"m\", \"max_tokens\": 8, \"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]";
        String off = encoder.render(AnthropicRequest.fromJson(body(base + ", \"thinking\": {\"type\": \"disabled\"}}")).chat().prompt());
        assertTrue(off.endsWith("<|im_middle|><think></think>"), off);
        String on = encoder.render(AnthropicRequest.fromJson(
                body(base + ", \"thinking\": {\"type\": \"enabled\", \"budget_tokens\": 1024}}")).chat().prompt());
        assertTrue(on.endsWith("<|im_assistant|>assistant<|im_middle|>"), on);

        String tools = ", \"tools\": [{\"name\": \"f\", \"input_schema\": {\"type\": \"object\"}}]";
        assertEquals(ToolChoice.named("f"), AnthropicRequest.fromJson(body(base + tools
                + ", \"tool_choice\": {\"type\": \"tool\", \"name\": \"f\"}}")).chat().toolChoice());
        assertEquals(ToolChoice.REQUIRED, AnthropicRequest.fromJson(body(base + tools
                + ", \"tool_choice\": {\"type\": \"any\", \"disable_parallel_tool_use\": true}}")).chat().toolChoice());
        assertFalse(AnthropicRequest.fromJson(body(base + tools
                + ", \"tool_choice\": {\"type\": \"any\", \"disable_parallel_tool_use\": true}}")).chat().parallelToolCalls());
        assertEquals(ToolChoice.AUTO, AnthropicRequest.fromJson(body(base + tools + "}")).chat().toolChoice());
        assertEquals(ToolChoice.NONE, AnthropicRequest.fromJson(body(base + tools
                + ", \"tool_choice\": {\"type\": \"none\"}}")).chat().toolChoice());
    }

    @Test
    void aFinalAssistantMessageIsContinued() throws Exception {
        AnthropicRequest request = AnthropicRequest.fromJson(body("""
                {"model": "m", "max_tokens": 8, "stop_sequences": ["\\n\\n"], "stream": true, "metadata": {"user_id": "u"},
                 "messages": [{"role": "user", "content": "Count"}, {"role": "assistant", "content": "One, two,"}]}
                """));
        assertTrue(request.chat().prompt().continueFinalMessage());
        assertFalse(request.chat().prompt().addGenerationPrompt());
        assertTrue(encoder.render(request.chat().prompt()).endsWith("One, two,"));
        assertTrue(request.stream());
        assertEquals(java.util.List.of("\n\n"), request.stopSequences());
    }

    @Test
    void aBadFieldIsA400NamingIt() {
        String user = "\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]";
        assertRejected("'max_tokens' is required", "{" + user + "}");
        assertRejected("'max_tokens' must be in", "{\"max_tokens\": 0, " + user + "}");
        assertRejected("'max_tokens' must be an integer", "{\"max_tokens\": \"ten\", " + user + "}");
        assertRejected("'messages' is required", "{\"max_tokens\": 5}");
        assertRejected("'messages' must hold at least one", "{\"max_tokens\": 5, \"messages\": []}");
        assertRejected("'messages[0].role' must be user or assistant",
                "{\"max_tokens\": 5, \"messages\": [{\"role\": \"system\", \"content\": \"x\"}]}");
        assertRejected("'messages[0].content' is required",
                "{\"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": 3}]}");
        assertRejected("'messages[0].content[0].type' is 'image'", "{\"max_tokens\": 5, \"messages\": [{\"role\": \"user\", "
                + "\"content\": [{\"type\": \"image\", \"source\": {}}]}]}");
        assertRejected("'messages[1].content[0].input' is required", "{\"max_tokens\": 5, \"messages\": ["
                + "{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": "
                + "[{\"type\": \"tool_use\", \"id\": \"a\", \"name\": \"f\", \"input\": \"{}\"}]}, {\"role\": \"user\", \"content\": \"y\"}]}");
        assertRejected("'temperature' must be in [0, 1]", "{\"max_tokens\": 5, \"temperature\": 1.5, " + user + "}");
        assertRejected("'temperature' must be a number", "{\"max_tokens\": 5, \"temperature\": \"hot\", " + user + "}");
        assertRejected("'top_k' must be in", "{\"max_tokens\": 5, \"top_k\": -1, " + user + "}");
        assertRejected("'stop_sequences' must hold non-empty strings", "{\"max_tokens\": 5, \"stop_sequences\": [\"\"], " + user + "}");
        assertRejected("'stream' must be a boolean", "{\"max_tokens\": 5, \"stream\": \"yes\", " + user + "}");
        assertRejected("'thinking.type' must be", "{\"max_tokens\": 5, \"thinking\": {\"type\": \"maybe\"}, " + user + "}");
        assertRejected("'tool_choice.type' must be", "{\"max_tokens\": 5, \"tool_choice\": {\"type\": \"function\"}, " + user + "}");
        assertRejected("'tools[0].input_schema' is required",
                "{\"max_tokens\": 5, \"tools\": [{\"name\": \"f\"}], " + user + "}");
        assertRejected("'tools[0].type' is 'web_search_20250305'",
                "{\"max_tokens\": 5, \"tools\": [{\"type\": \"web_search_20250305\", \"name\": \"web_search\"}], " + user + "}");
        assertRejected("a final assistant message", "{\"max_tokens\": 5, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}, "
                + "{\"role\": \"assistant\", \"content\": [{\"type\": \"tool_use\", \"id\": \"a\", \"name\": \"f\", \"input\": {}}]}]}");
        // what the chat request itself rejects is an IllegalArgumentException, which the API answers with 400
        IllegalArgumentException undeclared = assertThrows(IllegalArgumentException.class, () -> AnthropicRequest.fromJson(body(
                "{\"max_tokens\": 5, \"tool_choice\": {\"type\": \"tool\", \"name\": \"g\"}, \"tools\": [{\"name\": \"f\", "
                        + "\"input_schema\": {\"type\": \"object\"}}], " + user + "}")));
        assertEquals(400, ApiErrors.of(undeclared).status());
    }

    private static void assertRejected(String expected, String body) {
        ApiException error = assertThrows(ApiException.class, () -> AnthropicRequest.fromJson(body(body)), body);
        assertEquals(400, error.status());
        assertEquals("invalid_request_error", error.anthropicType());
        assertTrue(error.getMessage().contains(expected), "'" + error.getMessage() + "' should contain '" + expected + "'");
    }

    private static ObjectNode body(String json) {
        try {
            return (ObjectNode) JSON.readTree(json);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }
}
