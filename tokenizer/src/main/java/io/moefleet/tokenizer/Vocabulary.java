package io.moefleet.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;

/**
 * Token ids to token bytes: the base tokens of a checkpoint's BPE vocabulary and its special tokens (whose bytes are
 * their text in UTF-8). Decoding concatenates bytes, so text split between tokens in the middle of a character comes
 * back whole once all its tokens are there.
 */
final class Vocabulary {

    private final byte[][] bytesById;

    /** @param bytesById the bytes of each id; ids the checkpoint leaves unassigned hold {@code null} */
    private Vocabulary(byte[][] bytesById) {
        this.bytesById = bytesById;
    }

    /** The base tokens with the special tokens' text laid over their ids. */
    static Vocabulary of(byte[][] baseTokens, SpecialTokens specials) {
        int size = Math.max(baseTokens.length, specials.maxId() + 1);
        byte[][] bytesById = Arrays.copyOf(baseTokens, size);
        for (Map.Entry<String, Integer> special : specials.idsByText().entrySet()) {
            bytesById[special.getValue()] = special.getKey().getBytes(StandardCharsets.UTF_8);
        }
        return new Vocabulary(bytesById);
    }

    int size() {
        return bytesById.length;
    }

    /** The bytes of a token (a special token's are its text). */
    byte[] bytes(int id) {
        if (id < 0 || id >= bytesById.length || bytesById[id] == null) {
            throw new IllegalArgumentException("token id " + id + " is not in the vocabulary (size " + bytesById.length + ")");
        }
        return bytesById[id];
    }

    /** The text of a token sequence: its bytes concatenated, decoded as UTF-8 (invalid sequences become U+FFFD). */
    String decode(int[] ids) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int id : ids) {
            out.writeBytes(bytes(id));
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
