package io.moefleet.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.regex.Matcher;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The 35 golden tokenizer cases on the tiny-k2 checkpoint, loaded as a served request loads it: from the directory. */
class GoldenTokenizerTest {

    private static TextTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizers.load(GoldenFiles.tinyK2());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    static Stream<Arguments> cases() {
        JsonNode golden = GoldenFiles.cases("tokenizer");
        assertEquals("tiny-k2", golden.path("tokenizer").asText());
        List<Arguments> cases = new ArrayList<>();
        golden.path("cases").forEach(c -> cases.add(Arguments.of(c.path("text").asText(), c.path("allow_special").asBoolean(), c)));
        assertEquals(35, cases.size());
        return cases.stream();
    }

    @ParameterizedTest(name = "[{index}] allowSpecial={1} {0}")
    @MethodSource("cases")
    void encodesToTheGoldenIdsAndDecodesBack(String text, boolean allowSpecial, JsonNode golden) {
        int[] ids = tokenizer.encode(text, allowSpecial);
        assertArrayEquals(GoldenFiles.ints(golden.path("ids")), ids);
        assertEquals(text, tokenizer.decode(ids));
    }

    @ParameterizedTest(name = "[{index}] allowSpecial={1} {0}")
    @MethodSource("cases")
    void preTokenizesIntoTheGoldenPieces(String text, boolean allowSpecial, JsonNode golden) {
        List<String> expected = new ArrayList<>();
        golden.path("pieces").forEach(p -> expected.add(p.asText()));
        assertEquals(expected, pieces(text, allowSpecial));
    }

    /** The split the encoder makes before BPE: special tokens where allowed, then Kimi's pattern on the text between. */
    private static List<String> pieces(String text, boolean allowSpecial) {
        List<SpecialTokens.Segment> segments = allowSpecial
                ? tokenizer.specialTokens().split(text)
                : List.of(new SpecialTokens.Segment(text, -1));
        List<String> pieces = new ArrayList<>();
        for (SpecialTokens.Segment segment : segments) {
            if (segment.isSpecial()) {
                pieces.add(segment.text());
                continue;
            }
            for (Matcher m = TiktokenPatterns.KIMI_K2.matcher(segment.text()); m.find(); ) {
                pieces.add(m.group());
            }
        }
        return pieces;
    }

    @Test
    void theCheckpointNamesItsVocabularySpecialTokensAndSequenceMarkers() {
        assertEquals(1280, tokenizer.vocabSize());
        assertEquals(256, tokenizer.specialTokens().idsByText().size());
        assertEquals(OptionalInt.of(1041), tokenizer.specialTokens().id("<|im_middle|>"));
        assertEquals(OptionalInt.of(1100), tokenizer.specialTokens().id("<|reserved_token_1100|>"));
        assertEquals(OptionalInt.empty(), tokenizer.specialTokens().id("<|im_middle"));
        SequenceMarkers markers = tokenizer.sequenceMarkers();
        assertEquals(OptionalInt.of(1024), markers.bos());
        // tokenizer_config.json's eos_token first, then generation_config.json's list
        assertArrayEquals(new int[] {1026, 1025}, markers.eos());
        assertEquals(false, markers.addBos());
        assertEquals("<|tool_call_begin|>", new String(tokenizer.tokenBytes(1037), StandardCharsets.UTF_8));
    }
}
