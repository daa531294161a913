package io.moefleet.tokenizer;

import java.util.Arrays;

/**
 * GPT-2's byte-level alphabet, in which Hugging Face byte-level BPE vocabularies write their tokens: printable Latin-1
 * bytes stand for themselves, the other bytes (controls, space, DEL, NBSP, soft hyphen) for U+0100 onwards in
 * byte order.
 */
final class ByteLevelAlphabet {

    /** The byte each alphabet character stands for, -1 for characters outside the alphabet. */
    private static final int[] BYTE_OF_CHAR = new int[0x100 + 0x100];

    static {
        Arrays.fill(BYTE_OF_CHAR, -1);
        int next = 0x100;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            BYTE_OF_CHAR[printable ? b : next++] = b;
        }
    }

    private ByteLevelAlphabet() {}

    /** The bytes a vocabulary token stands for, or {@code null} when it has a character outside the alphabet. */
    static byte[] bytesOf(String token) {
        byte[] bytes = new byte[token.length()];
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c >= BYTE_OF_CHAR.length || BYTE_OF_CHAR[c] < 0) {
                return null;
            }
            bytes[i] = (byte) BYTE_OF_CHAR[c];
        }
        return bytes;
    }
}
