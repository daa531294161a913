package io.moefleet.chat;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a chat template renders: the conversation as the request gave it (OpenAI-style message objects, kept as plain
 * maps and lists so the template sees every field), the declared tools, and extra template variables.
 *
 * @param tools {@code null} when the request declares none
 * @param templateKwargs {@code chat_template_kwargs}, e.g. {@code thinking}: variables the template may read
 */
public record ChatPrompt(List<Object> messages, List<Object> tools, boolean addGenerationPrompt, Map<String, Object> templateKwargs) {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    public ChatPrompt {
        Objects.requireNonNull(messages, "messages");
        Objects.requireNonNull(templateKwargs, "templateKwargs");
    }

    /**
     * {@code {"messages": [...], "tools": [...], "add_generation_prompt": true, "chat_template_kwargs": {...}}}; only
     * {@code messages} is required, {@code add_generation_prompt} defaults to true.
     */
    public static ChatPrompt fromJson(JsonNode request) {
        JsonNode messages = request.path("messages");
        if (!messages.isArray()) {
            throw new IllegalArgumentException("a chat needs a 'messages' list");
        }
        JsonNode tools = request.path("tools");
        if (!tools.isMissingNode() && !tools.isNull() && !tools.isArray()) {
            throw new IllegalArgumentException("'tools' must be a list");
        }
        JsonNode kwargs = request.path("chat_template_kwargs");
        if (!kwargs.isMissingNode() && !kwargs.isNull() && !kwargs.isObject()) {
            throw new IllegalArgumentException("'chat_template_kwargs' must be an object");
        }
        return new ChatPrompt(
                MAPPER.convertValue(messages, new TypeReference<List<Object>>() {}),
                tools.isArray() ? MAPPER.convertValue(tools, new TypeReference<List<Object>>() {}) : null,
                request.path("add_generation_prompt").asBoolean(true),
                kwargs.isObject() ? MAPPER.convertValue(kwargs, new TypeReference<Map<String, Object>>() {}) : Map.of());
    }
}
