package io.moefleet.router.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.chat.generation.ChatRequest;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * An Anthropic Messages request as the chat path runs it: the body is translated into the OpenAI-shaped chat body that
 * {@link ChatRequest#fromJson} (the Kimi chat template, the answer grammar) already understands; streaming and stop
 * sequences stay here, as the Messages API answers them itself. The model name is checked by the handler.
 *
 * <p>Fields: {@code max_tokens} (required), {@code system}, {@code messages} ({@link AnthropicConversation}),
 * {@code tools}, {@code tool_choice}, {@code thinking}, {@code temperature}, {@code top_p}, {@code top_k},
 * {@code stop_sequences}, {@code stream}; others (e.g. {@code metadata}) are ignored, as Anthropic's own fields the
 * model has no use for.
 *
 * @param stopSequences the strings that end the answer with {@code stop_reason: stop_sequence}
 */
record AnthropicRequest(ChatRequest chat, boolean stream, List<String> stopSequences) {

    /** Anthropic's rule for tool names; it also keeps names readable inside Kimi's {@code functions.NAME:N} call ids. */
    private static final Pattern TOOL_NAME = Pattern.compile("[a-zA-Z0-9_-]{1,128}");

    AnthropicRequest {
        stopSequences = List.copyOf(stopSequences);
    }

    /**
     * @throws ApiException 400 naming the field that is missing, of the wrong type or out of range
     * @throws IllegalArgumentException what the chat request itself rejects (e.g. a tool choice naming no declared tool)
     */
    static AnthropicRequest fromJson(ObjectNode body) {
        return new AnthropicRequest(ChatRequest.fromJson(toOpenAi(body)), Json.bool(body, "stream", false), stopSequences(body));
    }

    /** The OpenAI chat body equivalent to an Anthropic one, with Kimi's {@code chat_template_kwargs}. */
    static ObjectNode toOpenAi(ObjectNode body) {
        ObjectNode openAi = Json.object();
        int maxTokens = Json.integer(body, "max_tokens", 1, Integer.MAX_VALUE)
                .orElseThrow(() -> ApiException.badRequest("'max_tokens' is required"));
        openAi.put("max_tokens", maxTokens);
        if (!Json.present(body, "messages") || !body.get("messages").isArray()) {
            throw ApiException.badRequest("'messages' is required and must be a list of messages");
        }
        ArrayNode messages = AnthropicConversation.toOpenAi(body.get("system"), body.get("messages"));
        openAi.set("messages", messages);
        // a final assistant message is a prefill: the answer continues it (and, as Anthropic's, does not repeat it)
        JsonNode last = messages.get(messages.size() - 1);
        boolean prefill = "assistant".equals(last.path("role").asText());
        if (prefill && last.has("tool_calls")) {
            throw ApiException.badRequest("a final assistant message (a prefill to continue) may hold only text and thinking,"
                    + " not tool_use; send the tool_result in a user message");
        }
        openAi.put("add_generation_prompt", !prefill);
        openAi.put("continue_final_message", prefill);
        tools(body).ifPresent(tools -> openAi.set("tools", tools));
        toolChoice(body, openAi);
        thinking(body).ifPresent(on -> openAi.putObject("chat_template_kwargs").put("thinking", on));
        number(body, "temperature").ifPresent(t -> {
            if (!(t >= 0 && t <= 1)) {
                throw ApiException.badRequest("'temperature' must be in [0, 1], got " + t);
            }
            openAi.put("temperature", t);
        });
        number(body, "top_p").ifPresent(p -> {
            if (!(p > 0 && p <= 1)) {
                throw ApiException.badRequest("'top_p' must be in (0, 1], got " + p);
            }
            openAi.put("top_p", p);
        });
        Json.integer(body, "top_k", 0, Integer.MAX_VALUE).ifPresent(k -> openAi.put("top_k", k));
        return openAi;
    }

    /** {@code [{name, description?, input_schema}]} as OpenAI function tools; server tools are not served here. */
    private static Optional<ArrayNode> tools(ObjectNode body) {
        if (!Json.present(body, "tools")) {
            return Optional.empty();
        }
        if (!body.get("tools").isArray()) {
            throw ApiException.badRequest("'tools' must be a list of tools, got " + body.get("tools"));
        }
        ArrayNode tools = Json.array();
        int i = 0;
        for (JsonNode tool : body.get("tools")) {
            String at = "tools[" + i++ + "]";
            if (!tool.isObject()) {
                throw ApiException.badRequest("'" + at + "' must be an object, got " + tool);
            }
            String type = Json.string(tool, "type").orElse("custom");
            if (!type.equals("custom")) {
                throw ApiException.badRequest("'" + at + ".type' is '" + type + "': only client tools (name, description, "
                        + "input_schema) are supported, not Anthropic's server tools");
            }
            String name = required(tool, "name", at);
            if (!TOOL_NAME.matcher(name).matches()) {
                throw ApiException.badRequest("'" + at + ".name' must match " + TOOL_NAME.pattern() + ", got '" + name + "'");
            }
            JsonNode schema = tool.get("input_schema");
            if (schema == null || !schema.isObject()) {
                throw ApiException.badRequest("'" + at + ".input_schema' is required and must be a JSON schema object");
            }
            ObjectNode function = tools.addObject().put("type", "function").putObject("function");
            function.put("name", name);
            Json.string(tool, "description").ifPresent(description -> function.put("description", description));
            function.set("parameters", schema);
        }
        return tools.isEmpty() ? Optional.empty() : Optional.of(tools);
    }

    /** {@code {type: auto|any|tool|none, name?, disable_parallel_tool_use?}} as OpenAI's tool choice. */
    private static void toolChoice(ObjectNode body, ObjectNode openAi) {
        if (!Json.present(body, "tool_choice")) {
            return;
        }
        JsonNode choice = body.get("tool_choice");
        if (!choice.isObject()) {
            throw ApiException.badRequest("'tool_choice' must be an object like {\"type\": \"auto\"}, got " + choice);
        }
        String type = required(choice, "type", "tool_choice");
        switch (type) {
            case "auto" -> openAi.put("tool_choice", "auto");
            case "any" -> openAi.put("tool_choice", "required");
            case "none" -> openAi.put("tool_choice", "none");
            case "tool" -> openAi.putObject("tool_choice").put("type", "function")
                    .putObject("function").put("name", required(choice, "name", "tool_choice"));
            default -> throw ApiException.badRequest("'tool_choice.type' must be one of auto, any, tool, none; got '" + type + "'");
        }
        openAi.put("parallel_tool_calls", !Json.bool(choice, "disable_parallel_tool_use", false));
    }

    /**
     * {@code {type: enabled|adaptive|disabled, budget_tokens?}} as Kimi's {@code thinking} template switch; absent, the
     * checkpoint's default holds (a thinking checkpoint thinks). The budget is checked but not enforced: Kimi's
     * reasoning has no budget, {@code max_tokens} bounds it.
     */
    private static Optional<Boolean> thinking(ObjectNode body) {
        if (!Json.present(body, "thinking")) {
            return Optional.empty();
        }
        JsonNode thinking = body.get("thinking");
        if (!thinking.isObject()) {
            throw ApiException.badRequest("'thinking' must be an object like {\"type\": \"enabled\"}, got " + thinking);
        }
        String type = required(thinking, "type", "thinking");
        Json.integer(thinking, "budget_tokens", 1, Integer.MAX_VALUE);
        return switch (type) {
            case "enabled", "adaptive" -> Optional.of(true);
            case "disabled" -> Optional.of(false);
            default -> throw ApiException.badRequest("'thinking.type' must be enabled, adaptive or disabled; got '" + type + "'");
        };
    }

    private static List<String> stopSequences(ObjectNode body) {
        if (!Json.present(body, "stop_sequences")) {
            return List.of();
        }
        JsonNode stops = body.get("stop_sequences");
        if (!stops.isArray()) {
            throw ApiException.badRequest("'stop_sequences' must be a list of strings, got " + stops);
        }
        List<String> out = new ArrayList<>();
        for (JsonNode stop : stops) {
            if (!stop.isTextual() || stop.textValue().isEmpty()) {
                throw ApiException.badRequest("'stop_sequences' must hold non-empty strings, got " + stop);
            }
            out.add(stop.textValue());
        }
        return out;
    }

    /** A number field; absent or null gives empty. */
    private static Optional<Double> number(JsonNode body, String field) {
        if (!Json.present(body, field)) {
            return Optional.empty();
        }
        JsonNode value = body.get(field);
        if (!value.isNumber()) {
            throw ApiException.badRequest("'" + field + "' must be a number, got " + value);
        }
        return Optional.of(value.asDouble());
    }

    /** A string field that must be there; {@code at} names where the object is, for the error. */
    static String required(JsonNode object, String field, String at) {
        JsonNode value = object.get(field);
        if (value == null || !value.isTextual()) {
            throw ApiException.badRequest("'" + at + "." + field + "' is required and must be a string"
                    + (value == null ? "" : ", got " + value));
        }
        return value.textValue();
    }
}
