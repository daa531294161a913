package io.moefleet.grammar;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * JSON schemas to grammar rules: every text the rule matches is a JSON value the schema accepts. Supported: {@code type}
 * (one or a list), {@code enum}, {@code const}, {@code nullable}; objects with {@code properties} (written in the
 * schema's order, required ones always, no others, so {@code "properties": {}} gives {@code {}}) or without (free
 * members, whose values follow {@code additionalProperties} when it is a schema); {@code items}, {@code minItems}, {@code maxItems};
 * {@code minLength}, {@code maxLength}; {@code minimum}, {@code maximum} and their exclusive forms on integers and
 * numbers (a number's fraction is written only where every fraction keeps it in range); {@code anyOf}, {@code oneOf}
 * (alternatives are not checked for overlap), a single {@code allOf}; local {@code $ref}s. Annotations are ignored;
 * any other keyword is an {@link UnsupportedSchemaException}. What a schema leaves open is bounded by {@link JsonLimits}.
 */
public final class JsonSchemaRules {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ANNOTATIONS = Set.of("title", "description", "default", "examples", "$schema", "$id",
            "$comment", "format", "deprecated", "readOnly", "writeOnly", "$defs", "definitions", "additionalProperties");
    private static final Set<String> KEYWORDS = Set.of("type", "enum", "const", "nullable", "properties", "required",
            "items", "minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
            "exclusiveMaximum", "anyOf", "oneOf", "allOf", "$ref");
    private static final List<String> ALL_TYPES = List.of("string", "number", "boolean", "null", "array", "object");
    private static final int MAX_REFERENCE_DEPTH = 16;
    /** Schemas inside schemas (items, properties, anyOf...): real ones nest a few levels; hundreds would overflow the stack. */
    static final int MAX_SCHEMA_NESTING = 64;

    private final JsonNode root;
    private final JsonLimits limits;
    private final Rule whitespace;
    private final Map<Integer, Rule> anyValueByDepth = new HashMap<>();
    private int nesting;                                  // schemas being compiled, each inside the one before

    private JsonSchemaRules(JsonNode root, JsonLimits limits) {
        this.root = root;
        this.limits = limits;
        this.whitespace = limits.maxWhitespace() == 0 ? Rule.empty() : Rule.repeat(Rule.oneOf(" \t\n\r"), 0, limits.maxWhitespace());
    }

    /** A value the schema accepts. */
    public static Rule value(JsonNode schema, JsonLimits limits) {
        return new JsonSchemaRules(schema, limits).compile(schema, "#", 0, 0);
    }

    /** Any JSON object: what {@code response_format} {@code json_object} asks for. */
    public static Rule anyObject(JsonLimits limits) {
        JsonSchemaRules rules = new JsonSchemaRules(JSON.createObjectNode(), limits);
        return rules.freeObject(rules.anyValue(Math.max(0, limits.maxDepth() - 1)));
    }

    /** Whitespace as the limits bound it, for text around a value. */
    public static Rule whitespace(JsonLimits limits) {
        return new JsonSchemaRules(JSON.createObjectNode(), limits).whitespace;
    }

    private Rule compile(JsonNode schema, String path, int depth, int references) {
        if (nesting == MAX_SCHEMA_NESTING) {
            throw new UnsupportedSchemaException(path + ": schemas nest deeper than " + MAX_SCHEMA_NESTING + " levels");
        }
        nesting++;
        try {
            return compileNested(schema, path, depth, references);
        } finally {
            nesting--;
        }
    }

    private Rule compileNested(JsonNode schema, String path, int depth, int references) {
        if (schema.isBoolean()) {
            if (!schema.booleanValue()) {
                throw new UnsupportedSchemaException(path + " is the schema false, which no value satisfies");
            }
            return anyValue(Math.max(0, limits.maxDepth() - depth));
        }
        if (!schema.isObject()) {
            throw new UnsupportedSchemaException(path + " is not a schema (an object or a boolean)");
        }
        for (String keyword : (Iterable<String>) schema::fieldNames) {
            if (!KEYWORDS.contains(keyword) && !ANNOTATIONS.contains(keyword)) {
                throw new UnsupportedSchemaException(path + " uses '" + keyword + "', which constrained decoding does not support");
            }
        }
        if (schema.has("$ref")) {
            only(schema, path, "$ref");
            if (references >= MAX_REFERENCE_DEPTH) {
                throw new UnsupportedSchemaException(path + ": $ref nests deeper than " + MAX_REFERENCE_DEPTH + " (recursive?)");
            }
            String reference = schema.get("$ref").asText();
            return compile(resolve(reference, path), reference, depth, references + 1);
        }
        for (String combinator : List.of("anyOf", "oneOf", "allOf")) {
            if (schema.has(combinator)) {
                only(schema, path, combinator);
                JsonNode parts = schema.get(combinator);
                if (!parts.isArray() || parts.isEmpty() || combinator.equals("allOf") && parts.size() != 1) {
                    throw new UnsupportedSchemaException(path + "." + combinator + " must be a non-empty list"
                            + (combinator.equals("allOf") ? " of exactly one schema" : ""));
                }
                List<Rule> alternatives = new ArrayList<>();
                for (int i = 0; i < parts.size(); i++) {
                    alternatives.add(compile(parts.get(i), path + "." + combinator + "[" + i + "]", depth, references));
                }
                return Rule.choice(alternatives);
            }
        }
        Rule rule = schema.has("const") ? literalOf(schema.get("const"))
                : schema.has("enum") ? enumeration(schema.get("enum"), path)
                : typed(schema, path, depth, references);
        return schema.path("nullable").asBoolean(false) ? Rule.choice(rule, Rule.literal("null")) : rule;
    }

    private Rule typed(JsonNode schema, String path, int depth, int references) {
        JsonNode type = schema.get("type");
        List<String> types = new ArrayList<>();
        if (type == null) {
            types.addAll(ALL_TYPES);                       // no type: whatever the other keywords allow
        } else if (type.isArray()) {
            type.forEach(t -> types.add(t.asText()));
        } else {
            types.add(type.asText());
        }
        List<Rule> alternatives = new ArrayList<>();
        for (String t : types) {
            alternatives.add(switch (t) {
                case "string" -> string(schema, path);
                case "integer" -> integer(schema, path);
                case "number" -> number(schema, path);
                case "boolean" -> Rule.choice(Rule.literal("true"), Rule.literal("false"));
                case "null" -> Rule.literal("null");
                case "array" -> array(schema, path, depth, references);
                case "object" -> object(schema, path, depth, references);
                default -> throw new UnsupportedSchemaException(path + ".type '" + t + "' is not a JSON schema type");
            });
        }
        if (alternatives.isEmpty()) {
            throw new UnsupportedSchemaException(path + ".type is an empty list");
        }
        return Rule.choice(alternatives);
    }

    private Rule string(JsonNode schema, String path) {
        int min = nonNegative(schema, "minLength", 0, path);
        int max = Math.max(min, Math.min(nonNegative(schema, "maxLength", Integer.MAX_VALUE, path), limits.maxStringLength()));
        return Rule.jsonString(min, max);
    }

    private Rule integer(JsonNode schema, String path) {
        long[] range = integerRange(schema, path, false);
        if (range[0] > range[1]) {
            throw new UnsupportedSchemaException(path + ": no integer of at most " + limits.maxIntegerDigits()
                    + " digits lies within its bounds");
        }
        return Rule.integer(range[0], range[1]);
    }

    /**
     * A number: an integer in range, or {@code i.f} / {@code -i.f} with {@code i} chosen so that every fraction keeps the
     * value in range ({@code [i, i+1)} resp. {@code (-(i+1), -i]} inside the bounds).
     */
    private Rule number(JsonNode schema, String path) {
        long[] plain = integerRange(schema, path, false);
        List<Rule> alternatives = new ArrayList<>();
        if (plain[0] <= plain[1]) {
            alternatives.add(Rule.integer(plain[0], plain[1]));
        }
        long[] positive = integerRange(schema, path, true);
        Rule fraction = Rule.sequence(Rule.literal("."), Rule.repeat(Rule.oneOf("0123456789"), 1, limits.maxFractionDigits()));
        long positiveLow = Math.max(0, positive[0]);
        long positiveHigh = positive[1] - 1;
        if (positiveLow <= positiveHigh) {
            alternatives.add(Rule.sequence(Rule.integer(positiveLow, positiveHigh), fraction));
        }
        long negativeLow = Math.max(0, -plain[1]);           // -i <= max
        long negativeHigh = -positive[0] - 1;                // -(i+1) >= min
        if (negativeLow <= negativeHigh) {
            alternatives.add(Rule.sequence(Rule.literal("-"), Rule.integer(negativeLow, negativeHigh), fraction));
        }
        if (alternatives.isEmpty()) {
            throw new UnsupportedSchemaException(path + ": no number with at most " + limits.maxFractionDigits()
                    + " fraction digits lies within its bounds");
        }
        return Rule.choice(alternatives);
    }

    /**
     * The integers within the schema's bounds and the default magnitude. With {@code fractionBounds}, the bounds a
     * fractional value's integer part must keep: {@code [ceil(min), floor(max)]} against strict bounds as well, since
     * {@code i} itself must be inside and {@code i + 1} may touch an exclusive maximum.
     */
    private long[] integerRange(JsonNode schema, String path, boolean fractionBounds) {
        BigDecimal magnitude = BigDecimal.TEN.pow(limits.maxIntegerDigits()).subtract(BigDecimal.ONE);
        BigDecimal low = magnitude.negate();
        BigDecimal high = magnitude;
        boolean lowExclusive = false;
        boolean highExclusive = false;
        if (schema.has("minimum")) {
            low = low.max(decimal(schema, "minimum", path));
        }
        if (schema.has("maximum")) {
            high = high.min(decimal(schema, "maximum", path));
        }
        JsonNode exclusiveMinimum = schema.get("exclusiveMinimum");
        if (exclusiveMinimum != null && exclusiveMinimum.isBoolean()) {
            lowExclusive = exclusiveMinimum.booleanValue() && schema.has("minimum");   // draft 4
        } else if (exclusiveMinimum != null) {
            BigDecimal bound = decimal(schema, "exclusiveMinimum", path);
            if (bound.compareTo(low) >= 0) {
                low = bound;
                lowExclusive = true;
            }
        }
        JsonNode exclusiveMaximum = schema.get("exclusiveMaximum");
        if (exclusiveMaximum != null && exclusiveMaximum.isBoolean()) {
            highExclusive = exclusiveMaximum.booleanValue() && schema.has("maximum");
        } else if (exclusiveMaximum != null) {
            BigDecimal bound = decimal(schema, "exclusiveMaximum", path);
            if (bound.compareTo(high) <= 0) {
                high = bound;
                highExclusive = true;
            }
        }
        BigDecimal first = low.setScale(0, RoundingMode.CEILING);
        if (lowExclusive && first.compareTo(low) == 0) {
            first = first.add(BigDecimal.ONE);
        }
        BigDecimal last = high.setScale(0, RoundingMode.FLOOR);
        if (highExclusive && last.compareTo(high) == 0 && !fractionBounds) {
            last = last.subtract(BigDecimal.ONE);
        }
        BigDecimal beyond = magnitude.add(BigDecimal.ONE);   // keeps an empty range empty, and within a long
        return new long[] {first.max(beyond.negate()).min(beyond).longValueExact(), last.min(beyond).max(beyond.negate()).longValueExact()};
    }

    private Rule array(JsonNode schema, String path, int depth, int references) {
        if (schema.has("items") && !schema.get("items").isObject() && !schema.get("items").isBoolean()) {
            throw new UnsupportedSchemaException(path + ".items must be one schema (tuples are not supported)");
        }
        Rule item = schema.has("items") ? compile(schema.get("items"), path + ".items", depth + 1, references)
                : anyValue(Math.max(0, limits.maxDepth() - depth - 1));
        int min = nonNegative(schema, "minItems", 0, path);
        int max = Math.max(min, Math.min(nonNegative(schema, "maxItems", Integer.MAX_VALUE, path), limits.maxArrayItems()));
        return list("[", "]", item, min, max);
    }

    private Rule object(JsonNode schema, String path, int depth, int references) {
        JsonNode properties = schema.path("properties");
        Map<String, JsonNode> members = new LinkedHashMap<>();
        properties.properties().forEach(entry -> members.put(entry.getKey(), entry.getValue()));
        Set<String> required = new LinkedHashSet<>();
        schema.path("required").forEach(name -> required.add(name.asText()));
        for (String name : required) {
            members.putIfAbsent(name, JSON.createObjectNode());     // required but undeclared: any value
        }
        JsonNode additional = schema.get("additionalProperties");
        boolean noOthers = additional != null && additional.isBoolean() && !additional.asBoolean();
        if (!schema.has("properties") && members.isEmpty() && !noOthers) {
            Rule value = additional != null && additional.isObject()
                    ? compile(additional, path + ".additionalProperties", depth + 1, references)
                    : anyValue(Math.max(0, limits.maxDepth() - depth - 1));
            return freeObject(value);
        }
        List<Member> list = new ArrayList<>();
        for (Map.Entry<String, JsonNode> member : members.entrySet()) {
            Rule value = compile(member.getValue(), path + ".properties." + member.getKey(), depth + 1, references);
            Rule rule = Rule.sequence(literalOf(JSON.getNodeFactory().textNode(member.getKey())), whitespace,
                    Rule.literal(":"), whitespace, value);
            list.add(new Member(rule, required.contains(member.getKey())));
        }
        return Rule.sequence(Rule.literal("{"), whitespace, members(list, 0, true, new HashMap<>()), whitespace, Rule.literal("}"));
    }

    private record Member(Rule rule, boolean required) {}

    /** Members {@code from..} in order, each optional one present or not, commas only between present ones. */
    private Rule members(List<Member> list, int from, boolean first, Map<String, Rule> memo) {
        String key = from + "/" + first;
        Rule known = memo.get(key);
        if (known != null) {
            return known;
        }
        Rule rule;
        if (from == list.size()) {
            rule = Rule.empty();
        } else {
            Member member = list.get(from);
            Rule present = Rule.sequence(first ? Rule.empty() : separator(), member.rule(), members(list, from + 1, false, memo));
            rule = member.required() ? present : Rule.choice(present, members(list, from + 1, first, memo));
        }
        memo.put(key, rule);
        return rule;
    }

    private Rule freeObject(Rule value) {
        Rule member = Rule.sequence(Rule.jsonString(1, limits.maxStringLength()), whitespace, Rule.literal(":"), whitespace, value);
        return list("{", "}", member, 0, limits.maxObjectProperties());
    }

    /** {@code open ws (item (ws , ws item){min-1..max-1})? ws close}. */
    private Rule list(String open, String close, Rule item, int min, int max) {
        Rule body;
        if (max == 0) {
            body = Rule.empty();
        } else {
            Rule items = Rule.sequence(item, Rule.repeat(Rule.sequence(separator(), item), Math.max(0, min - 1), max - 1));
            body = min == 0 ? Rule.optional(items) : items;
        }
        return Rule.sequence(Rule.literal(open), whitespace, body, whitespace, Rule.literal(close));
    }

    private Rule separator() {
        return Rule.sequence(whitespace, Rule.literal(","), whitespace);
    }

    private Rule anyValue(int depth) {
        Rule known = anyValueByDepth.get(depth);
        if (known != null) {
            return known;
        }
        List<Rule> alternatives = new ArrayList<>(List.of(
                Rule.jsonString(0, limits.maxStringLength()),
                number(JSON.createObjectNode(), "#"),
                Rule.literal("true"), Rule.literal("false"), Rule.literal("null")));
        if (depth > 0) {
            Rule inner = anyValue(depth - 1);
            alternatives.add(list("[", "]", inner, 0, limits.maxArrayItems()));
            alternatives.add(freeObject(inner));
        }
        Rule rule = Rule.choice(alternatives);
        anyValueByDepth.put(depth, rule);
        return rule;
    }

    private Rule enumeration(JsonNode values, String path) {
        if (!values.isArray() || values.isEmpty()) {
            throw new UnsupportedSchemaException(path + ".enum must be a non-empty list");
        }
        List<Rule> alternatives = new ArrayList<>();
        values.forEach(value -> alternatives.add(literalOf(value)));
        return Rule.choice(alternatives);
    }

    private static Rule literalOf(JsonNode value) {
        try {
            return Rule.literal(JSON.writeValueAsString(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write a JSON value back: " + e.getMessage(), e);
        }
    }

    private JsonNode resolve(String reference, String path) {
        if (!reference.startsWith("#")) {
            throw new UnsupportedSchemaException(path + ": only local $refs (#/...) are supported, not '" + reference + "'");
        }
        JsonNode target = root.at(reference.substring(1));
        if (target.isMissingNode()) {
            throw new UnsupportedSchemaException(path + ": $ref '" + reference + "' points at nothing");
        }
        return target;
    }

    private static void only(JsonNode schema, String path, String keyword) {
        for (String other : (Iterable<String>) schema::fieldNames) {
            if (!other.equals(keyword) && !ANNOTATIONS.contains(other)) {
                throw new UnsupportedSchemaException(path + " combines '" + keyword + "' with '" + other + "', which is not supported");
            }
        }
    }

    private static int nonNegative(JsonNode schema, String keyword, int absent, String path) {
        JsonNode value = schema.get(keyword);
        if (value == null) {
            return absent;
        }
        if (!value.canConvertToInt() || value.asInt() < 0) {
            throw new UnsupportedSchemaException(path + "." + keyword + " must be a non-negative integer");
        }
        return value.asInt();
    }

    private static BigDecimal decimal(JsonNode schema, String keyword, String path) {
        JsonNode value = schema.get(keyword);
        if (!value.isNumber()) {
            throw new UnsupportedSchemaException(path + "." + keyword + " must be a number");
        }
        return value.decimalValue();
    }
}
