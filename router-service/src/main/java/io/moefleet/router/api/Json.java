package io.moefleet.router.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.util.Optional;
import java.util.OptionalInt;

/** The API's JSON: request bodies in, responses out (Jackson 2, as the chat request parsing uses), typed field reads. */
final class Json {

    // a body with text after its JSON value is no JSON body (Jackson would read the value and drop the rest)
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private Json() {}

    static ObjectNode object() {
        return MAPPER.createObjectNode();
    }

    static ArrayNode array() {
        return MAPPER.createArrayNode();
    }

    static String write(JsonNode node) {
        try {
            return MAPPER.writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The request body as a JSON object; malformed JSON or another JSON type is a 400 naming the problem. */
    static ObjectNode body(Buffer buffer) {
        if (buffer == null || buffer.length() == 0) {
            throw ApiException.badRequest("the request has no body; a JSON object is expected");
        }
        JsonNode node;
        try {
            node = MAPPER.readTree(buffer.getBytes());
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest("the body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw ApiException.badRequest("the body could not be read: " + e.getMessage());
        }
        if (!(node instanceof ObjectNode object)) {
            throw ApiException.badRequest("the body must be a JSON object, not " + (node == null ? "nothing" : node.getNodeType()));
        }
        return object;
    }

    static boolean present(JsonNode body, String field) {
        JsonNode value = body.get(field);
        return value != null && !value.isNull();
    }

    static boolean bool(JsonNode body, String field, boolean absent) {
        if (!present(body, field)) {
            return absent;
        }
        JsonNode value = body.get(field);
        if (!value.isBoolean()) {
            throw ApiException.badRequest("'" + field + "' must be a boolean, got " + value);
        }
        return value.booleanValue();
    }

    /** An integer field within [min, max]; absent or null gives empty. */
    static OptionalInt integer(JsonNode body, String field, int min, int max) {
        if (!present(body, field)) {
            return OptionalInt.empty();
        }
        JsonNode value = body.get(field);
        if (!value.canConvertToInt() || !(value.isIntegralNumber() || value.isNumber() && value.asDouble() == Math.rint(value.asDouble()))) {
            throw ApiException.badRequest("'" + field + "' must be an integer, got " + value);
        }
        int n = value.asInt();
        if (n < min || n > max) {
            throw ApiException.badRequest("'" + field + "' must be in [" + min + ", " + max + "], got " + n);
        }
        return OptionalInt.of(n);
    }

    static Optional<String> string(JsonNode body, String field) {
        if (!present(body, field)) {
            return Optional.empty();
        }
        JsonNode value = body.get(field);
        if (!value.isTextual()) {
            throw ApiException.badRequest("'" + field + "' must be a string, got " + value);
        }
        return Optional.of(value.textValue());
    }

    /** OpenAI's {@code usage} object. */
    static ObjectNode usage(int promptTokens, int completionTokens) {
        ObjectNode usage = object();
        usage.put("prompt_tokens", promptTokens);
        usage.put("completion_tokens", completionTokens);
        usage.put("total_tokens", promptTokens + completionTokens);
        return usage;
    }
}
