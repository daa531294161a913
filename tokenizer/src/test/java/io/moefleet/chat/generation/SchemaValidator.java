package io.moefleet.chat.generation;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A JSON-schema validator for the subset the grammar supports, written apart from the grammar so that a bug in one
 * cannot hide in the other: type (one or a list), enum, const, nullable, properties, required, additionalProperties,
 * items, minItems, maxItems, minLength, maxLength (in code points), minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, anyOf, oneOf.
 */
final class SchemaValidator {

    private SchemaValidator() {}

    /** What is wrong with the value, empty when it is valid. */
    static List<String> problems(JsonNode schema, JsonNode value) {
        List<String> problems = new ArrayList<>();
        check(schema, value, "$", problems);
        return problems;
    }

    private static void check(JsonNode schema, JsonNode value, String path, List<String> problems) {
        if (schema.path("nullable").asBoolean(false) && value.isNull()) {
            return;
        }
        if (schema.has("anyOf") || schema.has("oneOf")) {
            JsonNode alternatives = schema.has("anyOf") ? schema.get("anyOf") : schema.get("oneOf");
            int matching = 0;
            for (JsonNode alternative : alternatives) {
                matching += problems(alternative, value).isEmpty() ? 1 : 0;
            }
            if (schema.has("anyOf") ? matching == 0 : matching != 1) {
                problems.add(path + ": " + matching + " alternatives match");
            }
            return;
        }
        if (schema.has("const") && !schema.get("const").equals(value)) {
            problems.add(path + ": not the const " + schema.get("const"));
        }
        if (schema.has("enum") && !contains(schema.get("enum"), value)) {
            problems.add(path + ": " + value + " is not in the enum " + schema.get("enum"));
        }
        if (schema.has("type")) {
            List<String> types = new ArrayList<>();
            if (schema.get("type").isArray()) {
                schema.get("type").forEach(type -> types.add(type.asText()));
            } else {
                types.add(schema.get("type").asText());
            }
            if (types.stream().noneMatch(type -> hasType(value, type))) {
                problems.add(path + ": " + value + " is not of type " + types);
                return;
            }
        }
        if (value.isTextual()) {
            int length = value.asText().codePointCount(0, value.asText().length());
            if (length < schema.path("minLength").asInt(0) || length > schema.path("maxLength").asInt(Integer.MAX_VALUE)) {
                problems.add(path + ": string length " + length + " is out of bounds");
            }
        }
        if (value.isNumber()) {
            BigDecimal number = value.decimalValue();
            if (schema.has("minimum") && number.compareTo(schema.get("minimum").decimalValue()) < 0
                    || schema.has("maximum") && number.compareTo(schema.get("maximum").decimalValue()) > 0
                    || schema.path("exclusiveMinimum").isNumber() && number.compareTo(schema.get("exclusiveMinimum").decimalValue()) <= 0
                    || schema.path("exclusiveMaximum").isNumber() && number.compareTo(schema.get("exclusiveMaximum").decimalValue()) >= 0) {
                problems.add(path + ": " + number + " is out of bounds");
            }
        }
        if (value.isArray()) {
            if (value.size() < schema.path("minItems").asInt(0) || value.size() > schema.path("maxItems").asInt(Integer.MAX_VALUE)) {
                problems.add(path + ": " + value.size() + " items is out of bounds");
            }
            for (int i = 0; i < value.size(); i++) {
                if (schema.has("items")) {
                    check(schema.get("items"), value.get(i), path + "[" + i + "]", problems);
                }
            }
        }
        if (value.isObject()) {
            Set<String> declared = new HashSet<>();
            schema.path("properties").fieldNames().forEachRemaining(declared::add);
            schema.path("required").forEach(name -> {
                if (!value.has(name.asText())) {
                    problems.add(path + ": the required '" + name.asText() + "' is missing");
                }
            });
            value.properties().forEach(member -> {
                if (declared.contains(member.getKey())) {
                    check(schema.get("properties").get(member.getKey()), member.getValue(), path + "." + member.getKey(), problems);
                } else if (schema.path("additionalProperties").isBoolean() && !schema.get("additionalProperties").asBoolean()) {
                    problems.add(path + ": '" + member.getKey() + "' is not a declared property");
                }
            });
        }
    }

    private static boolean hasType(JsonNode value, String type) {
        return switch (type) {
            case "string" -> value.isTextual();
            case "integer" -> value.isIntegralNumber() || value.isNumber() && value.decimalValue().stripTrailingZeros().scale() <= 0;
            case "number" -> value.isNumber();
            case "boolean" -> value.isBoolean();
            case "null" -> value.isNull();
            case "array" -> value.isArray();
            case "object" -> value.isObject();
            default -> false;
        };
    }

    private static boolean contains(JsonNode values, JsonNode value) {
        for (JsonNode candidate : values) {
            if (candidate.equals(value) || candidate.isNumber() && value.isNumber()
                    && candidate.decimalValue().compareTo(value.decimalValue()) == 0) {
                return true;
            }
        }
        return false;
    }
}
