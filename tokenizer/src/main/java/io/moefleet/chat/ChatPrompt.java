package io.moefleet.chat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * What a chat template renders: the conversation as the request gave it (OpenAI-style message objects, kept as plain
 * maps and lists so the template sees every field), the declared tools, and extra template variables.
 *
 * @param tools {@code null} when the request declares none
 * @param templateKwargs {@code chat_template_kwargs}, e.g. {@code thinking}: variables the template may read
 * @param continueFinalMessage render the final message left open, for the model to continue (vLLM's and Hugging
 *     Face's {@code continue_final_message}): the text ends with that message's content, without its end-of-turn
 */
public record ChatPrompt(List<Object> messages, List<Object> tools, boolean addGenerationPrompt, Map<String, Object> templateKwargs,
        boolean continueFinalMessage) {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    public ChatPrompt {
        Objects.requireNonNull(messages, "messages");
        Objects.requireNonNull(templateKwargs, "templateKwargs");
        if (continueFinalMessage && addGenerationPrompt) {
            throw new IllegalArgumentException("continue_final_message and add_generation_prompt cannot both be true");
        }
        if (continueFinalMessage && messages.isEmpty()) {
            throw new IllegalArgumentException("continue_final_message needs a final message to continue");
        }
    }

    /**
     * The text of the final message, which {@link #continueFinalMessage} leaves open: its content, or for a list of
     * parts the last part's {@code text} (as Hugging Face picks it).
     */
    public String finalMessageText() {
        Object content = messages.isEmpty() || !(messages.getLast() instanceof Map<?, ?> message) ? null : message.get("content");
        if (content instanceof String text) {
            return text;
        }
        if (content instanceof List<?> parts) {
            for (Object part : parts.reversed()) {
                if (part instanceof Map<?, ?> block && block.get("text") instanceof String text) {
                    return text;
                }
            }
        }
        throw new IllegalArgumentException("the final message has no text content to continue");
    }

    /**
     * {@code {"messages": [...], "tools": [...], "add_generation_prompt": true, "chat_template_kwargs": {...},
     * "continue_final_message": false}}; only {@code messages} is required, {@code add_generation_prompt} defaults to
     * the opposite of {@code continue_final_message}, which defaults to false.
     */
    public static ChatPrompt fromJson(JsonNode request) {
        JsonNode messages = request.path("messages");
        if (!messages.isArray() || messages.isEmpty()) {
            throw new IllegalArgumentException("a chat needs a non-empty 'messages' list");
        }
        for (int i = 0; i < messages.size(); i++) {
            requireMessage(messages.get(i), i);
        }
        JsonNode tools = request.path("tools");
        if (!tools.isMissingNode() && !tools.isNull() && !tools.isArray()) {
            throw new IllegalArgumentException("'tools' must be a list");
        }
        JsonNode kwargs = request.path("chat_template_kwargs");
        if (!kwargs.isMissingNode() && !kwargs.isNull() && !kwargs.isObject()) {
            throw new IllegalArgumentException("'chat_template_kwargs' must be an object");
        }
        boolean continueFinalMessage = request.path("continue_final_message").asBoolean(false);
        return new ChatPrompt(
                MAPPER.convertValue(messages, new TypeReference<List<Object>>() {}),
                tools.isArray() ? MAPPER.convertValue(tools, new TypeReference<List<Object>>() {}) : null,
                request.path("add_generation_prompt").asBoolean(!continueFinalMessage),
                kwargs.isObject() ? MAPPER.convertValue(kwargs, new TypeReference<Map<String, Object>>() {}) : Map.of(),
                continueFinalMessage);
    }

    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant", "tool");

    /** A message as the template can render it: an object with a known role and text, parts, or (assistant) no content. */
    private static void requireMessage(JsonNode message, int index) {
        if (!message.isObject()) {
            throw new IllegalArgumentException("messages[" + index + "] must be an object, got " + message);
        }
        JsonNode role = message.path("role");
        if (!role.isTextual() || !ROLES.contains(role.textValue())) {
            throw new IllegalArgumentException("messages[" + index + "].role must be one of " + new TreeSet<>(ROLES)
                    + ", got " + role);
        }
        JsonNode content = message.path("content");
        boolean contentOk = content.isTextual() || content.isArray()
                || (content.isMissingNode() || content.isNull()) && role.textValue().equals("assistant");
        if (!contentOk) {
            throw new IllegalArgumentException("messages[" + index + "].content must be a string or a list of parts, got " + content);
        }
    }
}
