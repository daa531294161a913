package io.moefleet.chat.generation;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * OpenAI's {@code tool_choice}: whether the model may, must or must not call tools, or which one it must call.
 *
 * @param functionName the function a {@link Mode#NAMED} choice forces; null otherwise
 */
public record ToolChoice(Mode mode, String functionName) {

    public enum Mode {
        /** No tool-calls section can begin. */
        NONE,
        /** The model chooses: content, a tool-calls section, or content then a section. */
        AUTO,
        /** The answer is a tool-calls section with at least one call. */
        REQUIRED,
        /** The answer is a tool-calls section with one call, to the named function. */
        NAMED
    }

    public static final ToolChoice NONE = new ToolChoice(Mode.NONE, null);
    public static final ToolChoice AUTO = new ToolChoice(Mode.AUTO, null);
    public static final ToolChoice REQUIRED = new ToolChoice(Mode.REQUIRED, null);

    public ToolChoice {
        if ((mode == Mode.NAMED) != (functionName != null)) {
            throw new IllegalArgumentException("a function name goes with a named tool choice, and only with it");
        }
    }

    public static ToolChoice named(String functionName) {
        return new ToolChoice(Mode.NAMED, functionName);
    }

    /** Whether the answer must be tool calls. */
    public boolean forcesCall() {
        return mode == Mode.REQUIRED || mode == Mode.NAMED;
    }

    /**
     * {@code "none" | "auto" | "required" | {"type": "function", "function": {"name": ...}}}; absent: {@code auto} when
     * the request declares tools, else {@code none}, as OpenAI does.
     */
    static ToolChoice fromJson(JsonNode choice, boolean hasTools) {
        if (choice.isMissingNode() || choice.isNull()) {
            return hasTools ? AUTO : NONE;
        }
        if (choice.isTextual()) {
            return switch (choice.asText()) {
                case "none" -> NONE;
                case "auto" -> AUTO;
                case "required" -> REQUIRED;
                default -> throw new IllegalArgumentException("tool_choice '" + choice.asText()
                        + "' is none of 'none', 'auto', 'required' or a function");
            };
        }
        JsonNode name = choice.path("function").path("name");
        if (!name.isTextual()) {
            throw new IllegalArgumentException("tool_choice must be a string or {\"type\": \"function\", \"function\": {\"name\": ...}}");
        }
        return named(name.asText());
    }
}
