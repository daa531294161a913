package io.moefleet.checkpoint;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The base BPE ranks of generated checkpoints: the first N ranks of OpenAI's {@code cl100k_base}
 * (the rank file ships inside the jtokkit jar, so nothing is downloaded). Its first 256 ranks are the
 * 256 single bytes, so every prefix of 256 or more ranks can encode any byte string.
 */
final class BaseVocabulary {
    static final String RESOURCE = "/com/knuddels/jtokkit/cl100k_base.tiktoken";
    static final int BYTE_TOKENS = 256;

    private BaseVocabulary() {
    }

    /** The base64 token bytes of ranks {@code 0 .. count - 1}, in rank order. */
    static List<String> firstRanks(int count) {
        if (count < BYTE_TOKENS) {
            throw new IllegalArgumentException("the base vocabulary needs at least " + BYTE_TOKENS
                    + " ranks (one per byte), so vocab_size must be at least " + (BYTE_TOKENS + KimiSpecialTokens.COUNT)
                    + "; got " + count + " base ranks");
        }
        List<String> tokens = new ArrayList<>(count);
        try (InputStream in = BaseVocabulary.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException(RESOURCE + " is not on the classpath (jtokkit missing?)");
            }
            BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.US_ASCII));
            String line;
            while (tokens.size() < count && (line = reader.readLine()) != null) {
                String[] fields = line.split(" ");
                if (fields.length != 2 || Integer.parseInt(fields[1]) != tokens.size()) {
                    throw new IllegalStateException(RESOURCE + ": expected rank " + tokens.size() + ", got '" + line + "'");
                }
                tokens.add(fields[0]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        if (tokens.size() < count) {
            throw new IllegalArgumentException("cl100k_base has only " + tokens.size() + " ranks; "
                    + count + " base ranks were asked for");
        }
        checkByteTokens(tokens);
        return tokens;
    }

    private static void checkByteTokens(List<String> tokens) {
        Set<Integer> bytes = new HashSet<>();
        for (int rank = 0; rank < BYTE_TOKENS; rank++) {
            byte[] token = Base64.getDecoder().decode(tokens.get(rank));
            if (token.length != 1 || !bytes.add(token[0] & 0xFF)) {
                throw new IllegalStateException(RESOURCE + ": rank " + rank + " is not a distinct single byte");
            }
        }
    }
}
