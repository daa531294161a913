package io.moefleet.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Encoding then decoding gives the text back, for seeded random Unicode text on the tiktoken path (the tiny-k2
 * vocabulary: 1024 ranks, so most characters fall back to byte tokens).
 */
class RoundTripPropertyTest {

    private static final int FIRST_SPECIAL_ID = 1024;

    private static TextTokenizer tokenizer;

    @BeforeAll
    static void load() {
        tokenizer = Tokenizers.load(GoldenFiles.tinyK2());
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void randomUnicodeTextRoundTripsAndSpecialTextStaysOrdinaryWhenNotAllowed() {
        Random random = new Random(20261122);
        int withSpecialText = 0;
        for (int n = 0; n < 3000; n++) {
            String text = randomText(random);
            int[] plain = tokenizer.encode(text, false);
            assertEquals(text, tokenizer.decode(plain), () -> "allowSpecial=false: " + escape(text));
            assertTrue(Arrays.stream(plain).allMatch(id -> id < FIRST_SPECIAL_ID), () -> escape(text));
            int[] special = tokenizer.encode(text, true);
            assertEquals(text, tokenizer.decode(special), () -> "allowSpecial=true: " + escape(text));
            if (text.contains("<|im_end|>")) {
                withSpecialText++;
                assertTrue(Arrays.stream(special).anyMatch(id -> id == 1026), () -> escape(text));
            }
        }
        assertTrue(withSpecialText > 100, "the generator mixes in special-token text: " + withSpecialText);
    }

    @Test
    void aLoneSurrogateBecomesTheReplacementCharacter() {
        assertEquals("a\uFFFDb\uFFFD", tokenizer.decode(tokenizer.encode("a\uD800b\uDC00", false)));
        assertFalse(tokenizer.decode(tokenizer.encode("\uD83D\uDE00", false)).contains("\uFFFD"));
    }

    private static final List<String> FRAGMENTS = List.of(
            "<|im_end|>", "<|im_user|>", "[BOS]", "<|im_", "|>", "[EOS", "'s", "'LL", " ", "  ", "\t", "\n", "\r\n",
            "\u00A0", "\u3000", "\u2028", "\u0085", "\u200B", "e\u0301", "\u0915\u094D\u0937", "\uFE0F", "😀", "👍🏽",
            "🇫🇷", "\uD840\uDC00", "中文", "ひらがな", "한국어", "123456", "１２３", "Ⅻ");

    /** Up to 40 pieces: fragments above, or single characters from a few ranges, or any valid code point. */
    private static String randomText(Random random) {
        StringBuilder text = new StringBuilder();
        int pieces = random.nextInt(41);
        for (int i = 0; i < pieces; i++) {
            switch (random.nextInt(8)) {
                case 0, 1 -> text.append(FRAGMENTS.get(random.nextInt(FRAGMENTS.size())));
                case 2 -> text.append((char) (0x20 + random.nextInt(0x5F)));
                case 3 -> text.appendCodePoint(0x300 + random.nextInt(0x70)); // combining marks
                case 4 -> text.appendCodePoint(0x4E00 + random.nextInt(0x5200)); // CJK
                case 5 -> text.appendCodePoint(0x1F300 + random.nextInt(0x300)); // emoji (surrogate pairs)
                case 6 -> text.append(" ".repeat(1 + random.nextInt(6)));
                default -> text.appendCodePoint(anyCodePoint(random));
            }
        }
        return text.toString();
    }

    private static int anyCodePoint(Random random) {
        while (true) {
            int cp = random.nextInt(Character.MAX_CODE_POINT + 1);
            if (cp < Character.MIN_SURROGATE || cp > Character.MAX_SURROGATE) {
                return cp;
            }
        }
    }

    private static String escape(String text) {
        StringBuilder out = new StringBuilder();
        text.codePoints().forEach(cp -> out.append(cp >= 0x20 && cp < 0x7F ? Character.toString(cp) : String.format("\\u{%x}", cp)));
        return out.toString();
    }
}
