package io.moefleet.chat.generation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A function the request lets the model call: its name and the JSON schema of its arguments.
 *
 * @param parameters empty when the tool takes no arguments (the model then writes {@code {}})
 */
public record ToolDefinition(String name, Optional<JsonNode> parameters) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public ToolDefinition {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("a tool needs a function name");
        }
    }

    /** The OpenAI {@code tools} list, {@code [{"type": "function", "function": {"name", "parameters"}}]}, as plain maps. */
    static List<ToolDefinition> fromRequest(List<Object> tools) {
        List<ToolDefinition> definitions = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Object tool : tools == null ? List.of() : tools) {
            if (!(tool instanceof Map<?, ?> map) || !(map.get("function") instanceof Map<?, ?> function)) {
                throw new IllegalArgumentException("each tool must be {\"type\": \"function\", \"function\": {...}}");
            }
            if (map.containsKey("type") && !"function".equals(map.get("type"))) {
                throw new IllegalArgumentException("tool type '" + map.get("type") + "' is not supported; only 'function' is");
            }
            if (!(function.get("name") instanceof String name)) {
                throw new IllegalArgumentException("a tool's function needs a 'name'");
            }
            if (!names.add(name)) {
                throw new IllegalArgumentException("the tool '" + name + "' is declared twice");
            }
            Object parameters = function.get("parameters");
            definitions.add(new ToolDefinition(name, Optional.ofNullable(parameters).map(JSON::valueToTree)));
        }
        return definitions;
    }
}
