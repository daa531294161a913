package io.moefleet.kvcache;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * The hash chain that names pages: {@code key_0 = SHA-256(0x00, model, P, tokens[0..P))} and
 * {@code key_i = SHA-256(0x01, key_{i-1}, P, tokens[iP..(i+1)P))}, every length and token written as a little-endian
 * int32. A page's key thus depends on the model and on every token before and in it, so a shared prefix maps to the
 * same keys from any request or instance, and a changed token or model changes every key from its page on.
 */
public final class PageKeys {

    private static final byte ROOT = 0;
    private static final byte LINK = 1;

    private PageKeys() {
    }

    /**
     * The keys of every full page of {@code tokens}, in order; a trailing partial page has none.
     *
     * @param modelId names the weights and the numerics that made the latents (pages of different ids never mix)
     */
    public static List<PageKey> of(String modelId, int[] tokens, int pageTokens) {
        if (pageTokens < 1) {
            throw new IllegalArgumentException("pageTokens must be at least 1, not " + pageTokens);
        }
        MessageDigest sha = sha256();
        byte[] model = modelId.getBytes(StandardCharsets.UTF_8);
        ByteBuffer block = ByteBuffer.allocate(4 + 4 * pageTokens).order(ByteOrder.LITTLE_ENDIAN);
        List<PageKey> keys = new ArrayList<>(tokens.length / pageTokens);
        PageKey previous = null;
        for (int start = 0; start + pageTokens <= tokens.length; start += pageTokens) {
            if (previous == null) {
                sha.update(ROOT);
                sha.update(littleEndian(model.length));
                sha.update(model);
            } else {
                sha.update(LINK);
                previous.feed(sha);
            }
            block.clear();
            block.putInt(pageTokens);
            for (int t = start; t < start + pageTokens; t++) {
                block.putInt(tokens[t]);
            }
            sha.update(block.array());
            previous = PageKey.of(sha.digest());
            keys.add(previous);
        }
        return keys;
    }

    private static byte[] littleEndian(int value) {
        return ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }
}
