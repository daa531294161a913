package io.moefleet.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The project's tiktoken loader on OpenAI's cl100k_base and o200k_base, given the rank files jtokkit's jar ships as if
 * a checkpoint shipped them, with each vocabulary's own pattern and special tokens.
 */
class OpenAiVocabulariesTest {

    // the pat_str and special tokens of tiktoken_ext/openai_public.py (openai/tiktoken)
    private static final String CL100K_PATTERN = "'(?i:[sdmt]|ll|ve|re)|[^\\r\\n\\p{L}\\p{N}]?+\\p{L}++|\\p{N}{1,3}+"
            + "| ?[^\\s\\p{L}\\p{N}]++[\\r\\n]*+|\\s++$|\\s*[\\r\\n]|\\s+(?!\\S)|\\s";
    private static final String O200K_PATTERN = String.join("|",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?",
            "\\p{N}{1,3}",
            " ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*",
            "\\s*[\\r\\n]+",
            "\\s+(?!\\S)",
            "\\s+");

    private static TextTokenizer cl100k;
    private static TextTokenizer o200k;

    @BeforeAll
    static void load() throws IOException {
        cl100k = load("cl100k_base", CL100K_PATTERN, Map.of("<|endoftext|>", 100257, "<|fim_prefix|>", 100258,
                "<|fim_middle|>", 100259, "<|fim_suffix|>", 100260, "<|endofprompt|>", 100276));
        o200k = load("o200k_base", O200K_PATTERN, Map.of("<|endoftext|>", 199999, "<|endofprompt|>", 200018));
    }

    private static TextTokenizer load(String name, String pattern, Map<String, Integer> specials) throws IOException {
        String resource = "/com/knuddels/jtokkit/" + name + ".tiktoken";
        try (InputStream ranks = Encoding.class.getResourceAsStream(resource)) {
            return Tokenizers.tiktoken(ranks, resource, TiktokenPatterns.compile(pattern), SpecialTokens.of(specials),
                    SequenceMarkers.none());
        }
    }

    @AfterAll
    static void close() {
        cl100k.close();
        o200k.close();
    }

    @Test
    void cl100kEncodesTiktokensOwnTestExamplesToTheirIds() {
        // openai/tiktoken tests/test_encoding.py: test_simple, test_simple_regex, test_basic_encode, test_encode_surrogate_pairs
        assertArrayEquals(new int[] {15339, 1917}, cl100k.encode("hello world", false));
        assertArrayEquals(new int[] {15339, 220, 100257}, cl100k.encode("hello <|endoftext|>", true));
        assertArrayEquals(new int[] {38149}, cl100k.encode("rer", false));
        assertArrayEquals(new int[] {2351, 81}, cl100k.encode("'rer", false));
        assertArrayEquals(new int[] {31213, 198, 220}, cl100k.encode("today\n ", false));
        assertArrayEquals(new int[] {31213, 27907}, cl100k.encode("today\n \n", false));
        assertArrayEquals(new int[] {31213, 14211}, cl100k.encode("today\n  \n", false));
        assertArrayEquals(new int[] {220, 126, 227, 15}, cl100k.encode(" \u00850", false));
        assertArrayEquals(new int[] {9468, 239, 235}, cl100k.encode("\uD83D\uDC4D", false));
        assertArrayEquals(cl100k.encode("\uFFFD", false), cl100k.encode("\uD83D", false), "a lone surrogate is encoded as U+FFFD");
    }

    @Test
    void cl100kEncodesTheCookbookAndTiktokenRsExamplesToTheirIds() {
        // openai/openai-cookbook examples/How_to_count_tokens_with_tiktoken.ipynb, sections 3 and 5
        assertArrayEquals(new int[] {83, 1609, 5963, 374, 2294, 0}, cl100k.encode("tiktoken is great!", false));
        assertArrayEquals(new int[] {519, 85342, 34500, 479, 8997, 2191}, cl100k.encode("antidisestablishmentarianism", false));
        assertArrayEquals(new int[] {17, 489, 220, 17, 284, 220, 19}, cl100k.encode("2 + 2 = 4", false));
        assertArrayEquals(new int[] {33334, 45918, 243, 21990, 9080, 33334, 62004, 16556, 78699}, cl100k.encode("お誕生日おめでとう", false));
        // zurawiki/tiktoken-rs tiktoken-rs/tests/tiktoken.rs cl100k_base_test (a port of tiktoken's core)
        assertArrayEquals(new int[] {2028, 374, 264, 1296, 260, 449, 264, 2763, 315, 12908, 100257},
                cl100k.encode("This is a test         with a lot of spaces<|endoftext|>", true));
    }

    @Test
    void o200kEncodesTheCookbookAndTiktokenRsExamplesToTheirIds() {
        // openai/openai-cookbook examples/How_to_count_tokens_with_tiktoken.ipynb, sections 3 and 5
        assertArrayEquals(new int[] {83, 8251, 2488, 382, 2212, 0}, o200k.encode("tiktoken is great!", false));
        assertArrayEquals(new int[] {493, 129901, 376, 160388, 21203, 2367}, o200k.encode("antidisestablishmentarianism", false));
        assertArrayEquals(new int[] {17, 659, 220, 17, 314, 220, 19}, o200k.encode("2 + 2 = 4", false));
        assertArrayEquals(new int[] {8930, 9697, 243, 128225, 8930, 17693, 4344, 48669}, o200k.encode("お誕生日おめでとう", false));
        // zurawiki/tiktoken-rs tiktoken-rs/tests/tiktoken.rs o200k_base_test
        assertArrayEquals(new int[] {2500, 382, 261, 1746, 269, 483, 261, 3261, 328, 18608, 199999},
                o200k.encode("This is a test         with a lot of spaces<|endoftext|>", true));
    }

    @Test
    void bothAgreeWithJtokkitsBuiltInEncodingsOnAVariedTextSet() {
        EncodingRegistry registry = Encodings.newLazyEncodingRegistry();
        Encoding builtInCl100k = registry.getEncoding(EncodingType.CL100K_BASE);
        Encoding builtInO200k = registry.getEncoding(EncodingType.O200K_BASE);
        List<String> texts = variedTexts();
        for (String text : texts) {
            assertArrayEquals(builtInCl100k.encodeOrdinary(text).toArray(), cl100k.encode(text, false), "cl100k: " + text);
            assertArrayEquals(builtInO200k.encodeOrdinary(text).toArray(), o200k.encode(text, false), "o200k: " + text);
            assertEquals(text, cl100k.decode(cl100k.encode(text, true)));
            assertEquals(text, o200k.decode(o200k.encode(text, true)));
        }
    }

    /** The golden tokenizer texts (prose, code, numbers, CJK, emoji, whitespace runs, special-token text) and a few more. */
    private static List<String> variedTexts() {
        List<String> texts = new ArrayList<>();
        GoldenFiles.cases("tokenizer").path("cases").forEach(c -> texts.add(c.path("text").asText()));
        texts.add("for (int i = 0; i < n; ++i) {\n\tsum += a[i] * b[i]; // dot\n}\n");
        texts.add("Привет, мир! مرحبا بالعالم नमस्ते दुनिया ไทย ภาษา");
        texts.add("HE'S, SHE'LL, WE'VE, THEY'D; don't ’curly’ quotes");
        texts.add("    \n\n\n   \t\t  \r\n\r\n   x   ");
        texts.add("a".repeat(2000) + " " + "😀".repeat(300));
        return texts;
    }
}
