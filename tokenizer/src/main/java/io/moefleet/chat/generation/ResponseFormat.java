package io.moefleet.chat.generation;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Optional;

/**
 * OpenAI's {@code response_format}: free text, any JSON object, or a JSON value of a schema, which then is what the
 * answer's content must be.
 *
 * @param schema the schema of a {@link Type#JSON_SCHEMA} format; empty otherwise
 */
public record ResponseFormat(Type type, Optional<JsonNode> schema) {

    public enum Type { TEXT, JSON_OBJECT, JSON_SCHEMA }

    public static final ResponseFormat TEXT = new ResponseFormat(Type.TEXT, Optional.empty());
    public static final ResponseFormat JSON_OBJECT = new ResponseFormat(Type.JSON_OBJECT, Optional.empty());

    public ResponseFormat {
        if ((type == Type.JSON_SCHEMA) != schema.isPresent()) {
            throw new IllegalArgumentException("a schema goes with the json_schema format, and only with it");
        }
    }

    public static ResponseFormat jsonSchema(JsonNode schema) {
        return new ResponseFormat(Type.JSON_SCHEMA, Optional.of(schema));
    }

    /** {@code {"type": "text" | "json_object"}} or {@code {"type": "json_schema", "json_schema": {"schema": {...}}}}. */
    static ResponseFormat fromJson(JsonNode format) {
        if (format.isMissingNode() || format.isNull()) {
            return TEXT;
        }
        return switch (format.path("type").asText("")) {
            case "text" -> TEXT;
            case "json_object" -> JSON_OBJECT;
            case "json_schema" -> {
                JsonNode schema = format.path("json_schema").path("schema");
                if (schema.isMissingNode()) {
                    throw new IllegalArgumentException("response_format json_schema needs json_schema.schema");
                }
                yield jsonSchema(schema);
            }
            default -> throw new IllegalArgumentException("response_format type '" + format.path("type").asText("")
                    + "' is none of 'text', 'json_object', 'json_schema'");
        };
    }
}
