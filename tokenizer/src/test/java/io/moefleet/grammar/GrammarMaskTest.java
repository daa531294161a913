package io.moefleet.grammar;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.BitSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Masks on a toy vocabulary with multi-character tokens, checked against an oracle that knows nothing of the engine:
 * for grammars with a finite language, a token is allowed exactly when some sentence starts with the bytes read so far
 * followed by the token's bytes, and the end token exactly when the bytes read so far are a sentence.
 */
class GrammarMaskTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final List<String> TOKENS = List.of(
            "{", "}", "\"", "a", "b", "c", "x", "y", "\"a\"", ":", ",", " ", "1", "12", "-", "0", "2", "3", "5", "9", ".",
            "true", "tr", "ue", "t", "f", "fal", "se", "null", "nu", "ll", "\"red\"", "re", "d", "\"g", "gre", "en", "r",
            "e", "n", "\":", "{\"", "\"}", "}}", ": ", ", ", "\"b\":", "\"c\":\"", "x\"}", "-1", "-0", "0.", ".5", "13",
            "20", "[", "]", "[]", "\u00e9", "<|", "a|>", "<|a|>", "|>", "l", "s", "u");
    private static final int END = TOKENS.size();           // the one special token
    private static final TokenVocabulary VOCABULARY = vocabulary();
    private static final JsonLimits TIGHT = new JsonLimits(4, 3, 1, 2, 2, 0, 1);

    private static TokenVocabulary vocabulary() {
        byte[][] bytes = new byte[TOKENS.size() + 1][];
        for (int id = 0; id < TOKENS.size(); id++) {
            bytes[id] = TOKENS.get(id).getBytes(StandardCharsets.ISO_8859_1);
        }
        BitSet specials = new BitSet();
        specials.set(END);
        bytes[END] = "<end>".getBytes(StandardCharsets.US_ASCII);
        return TokenVocabulary.of(bytes, specials);
    }

    private static Grammar sentence(Rule body) {
        return Grammar.of(Rule.sequence(body, Rule.special(END)), List.of());
    }

    private static JsonNode schema(String json) throws IOException {
        return JSON.readTree(json);
    }

    @Test
    void anEnumAllowsExactlyThePrefixesOfItsValuesAtEveryStep() throws IOException {
        Grammar grammar = sentence(JsonSchemaRules.value(schema("{\"enum\": [\"red\", \"green\", 12, true, null]}"), TIGHT));
        GrammarMatcher matcher = new GrammarMatcher(grammar, VOCABULARY);
        assertEquals(Set.of("\"", "\"red\"", "\"g", "1", "12", "true", "tr", "t", "null", "nu", "n"), allowedTexts(matcher));
        assertTrue(matcher.accept(TOKENS.indexOf("\"g")));
        assertEquals(Set.of("r", "re"), allowedTexts(matcher));     // not "gre": the "g" is read already
        checkAgainstOracle(grammar, Set.of("\"red\"", "\"green\"", "12", "true", "null"));
    }

    @Test
    void anIntegerRangeAllowsItsNumbersAndNoLeadingZerosOrMinusZero() throws IOException {
        Grammar grammar = sentence(JsonSchemaRules.value(schema("{\"type\": \"integer\", \"minimum\": -12, \"maximum\": 130}"), TIGHT));
        Set<String> language = IntStream.rangeClosed(-12, 130).mapToObj(Integer::toString).collect(Collectors.toSet());
        checkAgainstOracle(grammar, language);
        GrammarMatcher matcher = new GrammarMatcher(grammar, VOCABULARY);
        assertTrue(matcher.accept(TOKENS.indexOf("-")));
        assertEquals(Set.of("1", "12", "2", "3", "5", "9"), allowedTexts(matcher));   // no "0", "13", "20": -0 or < -12
    }

    @Test
    void aBoundedNumberWritesOnlyValuesInsideItsBounds() throws IOException {
        JsonNode numberSchema = schema("{\"type\": \"number\", \"minimum\": -1.5, \"exclusiveMaximum\": 2}");
        Set<String> language = new TreeSet<>(List.of("-1", "0", "1"));
        for (int digit = 0; digit <= 9; digit++) {
            language.addAll(List.of("0." + digit, "1." + digit, "-0." + digit));
        }
        for (String number : language) {                     // the design claim: every such value is in range
            BigDecimal value = new BigDecimal(number);
            assertTrue(value.compareTo(new BigDecimal("-1.5")) >= 0 && value.compareTo(BigDecimal.TWO) < 0, number);
        }
        checkAgainstOracle(sentence(JsonSchemaRules.value(numberSchema, TIGHT)), language);
    }

    @Test
    void nestedObjectsFollowTheirSchemaWithOptionalMembersAndRequiredOnes() throws IOException {
        JsonNode objectSchema = schema("""
                {"type": "object", "required": ["a"], "properties": {
                  "a": {"type": "integer", "minimum": 0, "maximum": 20},
                  "b": {"type": "object", "required": ["c"], "properties": {"c": {"enum": ["x", "y"]}}},
                  "d": {"type": "boolean"}}}""");
        Set<String> language = new LinkedHashSet<>();
        for (int a = 0; a <= 20; a++) {
            for (String b : List.of("", ",\"b\":{\"c\":\"x\"}", ",\"b\":{\"c\":\"y\"}")) {
                for (String d : List.of("", ",\"d\":true", ",\"d\":false")) {
                    language.add("{\"a\":" + a + b + d + "}");
                }
            }
        }
        Grammar grammar = sentence(JsonSchemaRules.value(objectSchema, TIGHT));
        checkAgainstOracle(grammar, language);
        GrammarMatcher matcher = new GrammarMatcher(grammar, VOCABULARY);
        for (String token : List.of("{\"", "a", "\":", "12", ",", "\"b\":", "{\"", "c", "\":")) {
            assertTrue(matcher.accept(TOKENS.indexOf(token)), token);
        }
        assertEquals(Set.of("\""), allowedTexts(matcher));        // "x" or "y" must follow, and only a quote starts them
    }

    @Test
    void boundedWhitespaceArraysAndLiteralsGiveExactlyTheirSentences() throws IOException {
        JsonLimits spaced = new JsonLimits(4, 3, 1, 2, 2, 1, 1);
        Grammar grammar = sentence(JsonSchemaRules.value(schema(
                "{\"type\": \"array\", \"items\": {\"type\": [\"boolean\", \"null\"]}, \"maxItems\": 2}"), spaced));
        Set<String> language = new LinkedHashSet<>();
        List<String> spaces = List.of("", " ");
        List<String> items = List.of("true", "false", "null");
        for (String s1 : spaces) {
            for (String s2 : spaces) {
                language.add("[" + s1 + s2 + "]");
                for (String first : items) {
                    language.add("[" + s1 + first + s2 + "]");
                    for (String s3 : spaces) {
                        for (String s4 : spaces) {
                            for (String second : items) {
                                language.add("[" + s1 + first + s3 + "," + s4 + second + s2 + "]");
                            }
                        }
                    }
                }
            }
        }
        checkAgainstOracle(grammar, language);
    }

    @Test
    void ordinaryTokensNeverSpellAForbiddenTextEvenAcrossTokens() {
        Grammar grammar = Grammar.of(Rule.sequence(Rule.anyText(), Rule.special(END)), List.of("<|a|>"));
        GrammarMatcher matcher = new GrammarMatcher(grammar, VOCABULARY);
        Set<String> atStart = allowedTexts(matcher);
        assertFalse(atStart.contains("<|a|>"));
        assertTrue(atStart.containsAll(Set.of("<|", "a|>", "|>", "a", "<end>")));
        assertTrue(matcher.accept(TOKENS.indexOf("<|")));
        assertFalse(allowedTexts(matcher).contains("a|>"));
        assertTrue(matcher.accept(TOKENS.indexOf("a")));
        assertFalse(allowedTexts(matcher).contains("|>"));
        assertFalse(matcher.accept(TOKENS.indexOf("|>")), "the mask and accept agree");
        assertTrue(matcher.accept(TOKENS.indexOf("b")));
        assertTrue(allowedTexts(matcher).contains("|>"), "'<|ab|>' is no forbidden text");
    }

    @Test
    void jsonStringsAreBoundedWellFormedUtf8WithEscapes() {
        Rule string = Rule.jsonString(1, 2);
        assertTrue(reads(string, "\"a\\u00e9\"".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(reads(string, "\"\\n\"".getBytes(StandardCharsets.US_ASCII)));
        assertTrue(reads(string, "\"\u00e9\uD83D\uDE00\"".getBytes(StandardCharsets.UTF_8)));
        assertFalse(reads(string, "\"\"".getBytes(StandardCharsets.US_ASCII)), "shorter than minLength");
        assertFalse(reads(string, "\"abc\"".getBytes(StandardCharsets.US_ASCII)), "longer than maxLength");
        assertFalse(reads(string, "\"\\x\"".getBytes(StandardCharsets.US_ASCII)), "not an escape");
        assertFalse(reads(string, new byte[] {'"', (byte) 0xC0, (byte) 0x80, '"'}), "an overlong NUL");
        assertFalse(reads(string, new byte[] {'"', (byte) 0xED, (byte) 0xA0, (byte) 0x80, '"'}), "a UTF-8 surrogate");
        assertFalse(reads(string, new byte[] {'"', 'a', '\n', '"'}), "a raw control character");
        assertFalse(reads(string, new byte[] {'"', (byte) 0xE9, '"'}), "a lone Latin-1 byte is no UTF-8");
    }

    @Test
    void schemasTheGrammarCannotHonourAreRejectedWithWhere() throws IOException {
        UnsupportedSchemaException pattern = assertThrows(UnsupportedSchemaException.class, () -> JsonSchemaRules.value(
                schema("{\"type\": \"object\", \"properties\": {\"id\": {\"type\": \"string\", \"pattern\": \"^a\"}}}"), TIGHT));
        assertTrue(pattern.getMessage().contains("#.properties.id") && pattern.getMessage().contains("'pattern'"), pattern.getMessage());
        assertThrows(UnsupportedSchemaException.class,
                () -> JsonSchemaRules.value(schema("{\"type\": \"integer\", \"minimum\": 5000}"), TIGHT), "beyond 3 digits");
        assertThrows(UnsupportedSchemaException.class,
                () -> JsonSchemaRules.value(schema("{\"$ref\": \"#/$defs/a\", \"$defs\": {}}"), TIGHT), "a dangling $ref");
        // found by fuzzing: hundreds of nested schemas overflowed the stack
        int levels = JsonSchemaRules.MAX_SCHEMA_NESTING;          // schemas around the innermost one: one too many
        for (String nest : List.of("{\"type\": \"array\", \"items\": ", "{\"anyOf\": [")) {
            String close = nest.endsWith("[") ? "]}" : "}";
            String deep = nest.repeat(levels) + "{\"type\": \"integer\"}" + close.repeat(levels);
            UnsupportedSchemaException nested = assertThrows(UnsupportedSchemaException.class,
                    () -> JsonSchemaRules.value(schema(deep), TIGHT));
            assertTrue(nested.getMessage().contains("nest deeper than " + JsonSchemaRules.MAX_SCHEMA_NESTING), nested.getMessage());
        }
        String deepest = "{\"type\": \"array\", \"items\": ".repeat(levels - 1) + "{\"type\": \"integer\"}" + "}".repeat(levels - 1);
        JsonSchemaRules.value(schema(deepest), TIGHT);
    }

    @Test
    void localReferencesAndEmptyPropertiesCompile() throws IOException {
        Grammar grammar = sentence(JsonSchemaRules.value(schema("""
                {"type": "object", "properties": {"a": {"$ref": "#/$defs/small"}}, "required": ["a"],
                 "$defs": {"small": {"type": "integer", "minimum": 0, "maximum": 3}}}"""), TIGHT));
        checkAgainstOracle(grammar, Set.of("{\"a\":0}", "{\"a\":1}", "{\"a\":2}", "{\"a\":3}"));
        checkAgainstOracle(sentence(JsonSchemaRules.value(schema("{\"type\": \"object\", \"properties\": {}}"), TIGHT)), Set.of("{}"));
    }

    /** Whether the rule reads exactly these bytes, fed one by one through a vocabulary of the 256 single bytes. */
    private static boolean reads(Rule rule, byte[] text) {
        byte[][] bytes = new byte[257][];
        for (int b = 0; b < 256; b++) {
            bytes[b] = new byte[] {(byte) b};
        }
        BitSet specials = new BitSet();
        specials.set(256);
        GrammarMatcher matcher = new GrammarMatcher(Grammar.of(Rule.sequence(rule, Rule.special(256)), List.of()),
                TokenVocabulary.of(bytes, specials));
        for (byte b : text) {
            boolean allowed = matcher.allowedTokens().allowed(b & 0xFF);
            if (allowed != matcher.accept(b & 0xFF)) {
                throw new AssertionError("the mask and accept disagree on byte " + (b & 0xFF));
            }
            if (!allowed) {
                return false;
            }
        }
        return matcher.allowedTokens().allowed(256);
    }

    /** Random walks through the grammar: at every step the mask equals the oracle's, and every walk ends in a sentence. */
    private static void checkAgainstOracle(Grammar grammar, Set<String> language) {
        Random random = new Random(42);
        Set<String> ended = new LinkedHashSet<>();
        for (int walk = 0; walk < 200; walk++) {
            GrammarMatcher matcher = new GrammarMatcher(grammar, VOCABULARY);
            StringBuilder read = new StringBuilder();
            while (true) {
                Set<Integer> expected = new TreeSet<>();
                for (int id = 0; id < TOKENS.size(); id++) {
                    String next = read + TOKENS.get(id);
                    if (language.stream().anyMatch(sentence -> sentence.startsWith(next))) {
                        expected.add(id);
                    }
                }
                if (language.contains(read.toString())) {
                    expected.add(END);
                }
                int[] allowed = matcher.allowedTokens().ids();
                assertEquals(expected, Arrays.stream(allowed).boxed().collect(Collectors.toSet()), "after '" + read + "'");
                int token = allowed[random.nextInt(allowed.length)];
                assertTrue(matcher.accept(token));
                if (token == END) {
                    assertTrue(matcher.isComplete());
                    ended.add(read.toString());
                    break;
                }
                read.append(TOKENS.get(token));
            }
        }
        assertTrue(language.containsAll(ended));
    }

    private static Set<String> allowedTexts(GrammarMatcher matcher) {
        Set<String> texts = new TreeSet<>();
        for (int id : matcher.allowedTokens().ids()) {
            texts.add(id == END ? "<end>" : TOKENS.get(id));
        }
        return texts;
    }
}
