package io.moefleet.router.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Anthropic's {@code system} and {@code messages} as the OpenAI-style messages the Kimi chat template renders:
 * <ul>
 * <li>{@code system} (a string or text blocks) is the system message;
 * <li>a user turn's text blocks are a user message, its {@code tool_result} blocks each a {@code tool} message with
 *     {@code tool_call_id}, in the order given;
 * <li>an assistant turn's text is its content, its {@code thinking} blocks its {@code reasoning_content} (which the
 *     template keeps for the turns after the last user message, i.e. within a tool-use round), its {@code tool_use}
 *     blocks its {@code tool_calls}, the input as an object for the template to write as JSON.
 * </ul>
 * Text blocks are joined without a separator, as the template joins text parts. Images and documents are not
 * supported (the model reads text).
 *
 * <p>Call ids: Kimi K2 writes {@code functions.NAME:N}, and this server hands those out as {@code tool_use} ids, so they
 * come back unchanged. Other ids (a conversation begun with another provider) are renamed to that form, the
 * {@code tool_result} naming them likewise, so the history reads as the model's own.
 */
final class AnthropicConversation {

    private static final Pattern KIMI_CALL_ID = Pattern.compile("functions\\..+:\\d+");

    private final ArrayNode out = Json.array();
    private final Map<String, String> callIds = new HashMap<>();
    private int calls;

    private AnthropicConversation() {}

    /** @param system the {@code system} field, null when absent */
    static ArrayNode toOpenAi(JsonNode system, JsonNode messages) {
        if (messages.isEmpty()) {
            throw ApiException.badRequest("'messages' must hold at least one message");
        }
        AnthropicConversation conversation = new AnthropicConversation();
        if (system != null && !system.isNull()) {
            conversation.out.addObject().put("role", "system").put("content", text(system, "system"));
        }
        int i = 0;
        for (JsonNode message : messages) {
            conversation.message(message, "messages[" + i++ + "]");
        }
        return conversation.out;
    }

    private void message(JsonNode message, String at) {
        if (!message.isObject()) {
            throw ApiException.badRequest("'" + at + "' must be an object with 'role' and 'content', got " + message);
        }
        String role = AnthropicRequest.required(message, "role", at);
        JsonNode content = message.get("content");
        if (content == null || !(content.isTextual() || content.isArray())) {
            throw ApiException.badRequest("'" + at + ".content' is required and must be a string or a list of content blocks");
        }
        switch (role) {
            case "user" -> user(content, at + ".content");
            case "assistant" -> assistant(content, at + ".content");
            default -> throw ApiException.badRequest("'" + at + ".role' must be user or assistant, got '" + role + "'");
        }
    }

    /** Text runs become user messages, each tool result a tool message, keeping their order. */
    private void user(JsonNode content, String at) {
        if (content.isTextual()) {
            out.addObject().put("role", "user").put("content", content.textValue());
            return;
        }
        requireBlocks(content, at);
        StringBuilder text = null;
        int j = 0;
        for (JsonNode block : content) {
            String blockAt = at + "[" + j++ + "]";
            switch (blockType(block, blockAt)) {
                case "text" -> {
                    text = text == null ? new StringBuilder() : text;
                    text.append(AnthropicRequest.required(block, "text", blockAt));
                }
                case "tool_result" -> {
                    if (text != null) {
                        out.addObject().put("role", "user").put("content", text.toString());
                        text = null;
                    }
                    toolResult(block, blockAt);
                }
                default -> throw unsupported(block, blockAt, "text and tool_result");
            }
        }
        if (text != null) {
            out.addObject().put("role", "user").put("content", text.toString());
        }
    }

    private void toolResult(JsonNode block, String at) {
        String id = AnthropicRequest.required(block, "tool_use_id", at);
        String result = Json.present(block, "content") ? text(block.get("content"), at + ".content") : "";
        // the template has no field for a failed call: the model reads it in the result
        boolean error = Json.bool(block, "is_error", false);
        out.addObject().put("role", "tool").put("tool_call_id", callIds.getOrDefault(id, id))
                .put("content", error ? "Error: " + result : result);
    }

    private void assistant(JsonNode content, String at) {
        ObjectNode message = out.addObject().put("role", "assistant");
        if (content.isTextual()) {
            message.put("content", content.textValue());
            return;
        }
        requireBlocks(content, at);
        StringBuilder text = new StringBuilder();
        StringBuilder reasoning = new StringBuilder();
        ArrayNode toolCalls = Json.array();
        int j = 0;
        for (JsonNode block : content) {
            String blockAt = at + "[" + j++ + "]";
            switch (blockType(block, blockAt)) {
                case "text" -> text.append(AnthropicRequest.required(block, "text", blockAt));
                case "thinking" -> reasoning.append(AnthropicRequest.required(block, "thinking", blockAt));
                case "redacted_thinking" -> { }                 // another provider's sealed reasoning: nothing to read
                case "tool_use" -> toolCalls.add(toolCall(block, blockAt));
                default -> throw unsupported(block, blockAt, "text, thinking, redacted_thinking and tool_use");
            }
        }
        message.put("content", text.toString());
        if (!reasoning.isEmpty()) {
            message.put("reasoning_content", reasoning.toString());
        }
        if (!toolCalls.isEmpty()) {
            message.set("tool_calls", toolCalls);
        }
    }

    private ObjectNode toolCall(JsonNode block, String at) {
        String id = AnthropicRequest.required(block, "id", at);
        String name = AnthropicRequest.required(block, "name", at);
        JsonNode input = block.get("input");
        if (input == null || !input.isObject()) {
            throw ApiException.badRequest("'" + at + ".input' is required and must be an object");
        }
        String kimiId = KIMI_CALL_ID.matcher(id).matches() ? id : "functions." + name + ":" + calls;
        calls++;
        callIds.put(id, kimiId);
        ObjectNode call = Json.object().put("id", kimiId).put("type", "function");
        call.putObject("function").put("name", name).set("arguments", input);
        return call;
    }

    /** A string, or text blocks joined. */
    private static String text(JsonNode content, String at) {
        if (content.isTextual()) {
            return content.textValue();
        }
        if (!content.isArray()) {
            throw ApiException.badRequest("'" + at + "' must be a string or a list of text blocks, got " + content);
        }
        StringBuilder text = new StringBuilder();
        int j = 0;
        for (JsonNode block : content) {
            String blockAt = at + "[" + j++ + "]";
            if (!blockType(block, blockAt).equals("text")) {
                throw unsupported(block, blockAt, "text");
            }
            text.append(AnthropicRequest.required(block, "text", blockAt));
        }
        return text.toString();
    }

    private static void requireBlocks(JsonNode content, String at) {
        if (content.isEmpty()) {
            throw ApiException.badRequest("'" + at + "' must hold at least one content block");
        }
    }

    private static String blockType(JsonNode block, String at) {
        if (!block.isObject()) {
            throw ApiException.badRequest("'" + at + "' must be a content block object, got " + block);
        }
        return AnthropicRequest.required(block, "type", at);
    }

    private static ApiException unsupported(JsonNode block, String at, String supported) {
        return ApiException.badRequest("'" + at + ".type' is '" + block.get("type").textValue() + "'; only " + supported
                + " blocks are supported here");
    }
}
