package io.moefleet.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** On tiny-k2 most non-ASCII characters are several byte tokens: the hard case for streaming. */
class StreamingDecoderTest {

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
    void charactersSplitAcrossTokensComeOutWholeNeverHalf() {
        String text = "中文 😀 👨‍👩‍👧 Ünïcödé <|im_end|> € e\u0301 ok";
        int[] ids = tokenizer.encode(text, true);
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        List<String> pieces = new ArrayList<>();
        int waits = 0;
        for (int id : ids) {
            String piece = decoder.push(id);
            if (piece.isEmpty()) {
                waits++;
            }
            assertFalse(piece.contains("\uFFFD"), piece);
            assertTrue(isWholeUtf16(piece), piece);
            pieces.add(piece);
        }
        assertEquals("", decoder.flush());
        assertEquals(text, String.join("", pieces));
        assertTrue(waits > 10, "characters really were split across tokens: " + waits);
    }

    @Test
    void thePiecesAndFlushAreTheWholeDecodeEvenForBrokenByteSequences() {
        Random random = new Random(7);
        int[] singleByteIds = new int[256];
        for (int id = 0; id < tokenizer.vocabSize(); id++) {
            byte[] bytes = tokenizer.tokenBytes(id);
            if (bytes.length == 1) {
                singleByteIds[bytes[0] & 0xFF] = id;
            }
        }
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        for (int n = 0; n < 2000; n++) {
            int[] ids = new int[random.nextInt(12)];
            for (int i = 0; i < ids.length; i++) {
                // single bytes, mostly those of multi-byte UTF-8 (leads, continuations, never-valid), and any token
                int b = random.nextInt(4) == 0 ? random.nextInt(256) : 0x80 + random.nextInt(0x80);
                ids[i] = random.nextBoolean() ? singleByteIds[b] : random.nextInt(tokenizer.vocabSize());
            }
            StringBuilder streamed = new StringBuilder();
            for (int id : ids) {
                streamed.append(decoder.push(id));
            }
            streamed.append(decoder.flush());
            assertEquals(tokenizer.decode(ids), streamed.toString());
        }
    }

    @Test
    void flushEndsAnUnfinishedCharacterWithAReplacementAndStartsAfresh() {
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        int[] euro = tokenizer.encode("€", false);
        assertTrue(euro.length > 1, "€ is three byte tokens in tiny-k2");
        assertEquals("", decoder.push(euro[0]));
        assertEquals("\uFFFD", decoder.flush());
        StringBuilder again = new StringBuilder();
        for (int id : euro) {
            again.append(decoder.push(id));
        }
        assertEquals("€", again.toString());
        assertEquals("", decoder.flush());
    }

    private static boolean isWholeUtf16(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return false;
            }
        }
        return true;
    }
}
