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
        checkPageTokens(pageTokens);
        MessageDigest sha = sha256();
        byte[] model = modelId.getBytes(StandardCharsets.UTF_8);
        List<PageKey> keys = new ArrayList<>(tokens.length / pageTokens);
        PageKey previous = null;
        for (int start = 0; start + pageTokens <= tokens.length; start += pageTokens) {
            previous = link(sha, model, previous, tokens, start, pageTokens);
            keys.add(previous);
        }
        return keys;
    }

    /**
     * The key of the page {@code tokens[start, start + pageTokens)} whose predecessor's key is {@code previous} (null
     * for the first page, {@code start} 0): one link of the chain, for a sequence that grows a page at a time.
     */
    public static PageKey next(String modelId, PageKey previous, int[] tokens, int start, int pageTokens) {
        checkPageTokens(pageTokens);
        if ((previous == null) != (start == 0)) {
            throw new IllegalArgumentException("the first page (start 0) has no predecessor and every later page has one;"
                    + " got start " + start + (previous == null ? " without one" : " with one"));
        }
        if (start < 0 || start + pageTokens > tokens.length) {
            throw new IllegalArgumentException("a page of " + pageTokens + " tokens at " + start + " is not within "
                    + tokens.length + " tokens");
        }
        return link(sha256(), modelId.getBytes(StandardCharsets.UTF_8), previous, tokens, start, pageTokens);
    }

    private static PageKey link(MessageDigest sha, byte[] model, PageKey previous, int[] tokens, int start, int pageTokens) {
        if (previous == null) {
            sha.update(ROOT);
            sha.update(littleEndian(model.length));
            sha.update(model);
        } else {
            sha.update(LINK);
            previous.feed(sha);
        }
        ByteBuffer block = ByteBuffer.allocate(4 + 4 * pageTokens).order(ByteOrder.LITTLE_ENDIAN);
        block.putInt(pageTokens);
        for (int t = start; t < start + pageTokens; t++) {
            block.putInt(tokens[t]);
        }
        sha.update(block.array());
        return PageKey.of(sha.digest());
    }

    private static void checkPageTokens(int pageTokens) {
        if (pageTokens < 1) {
            throw new IllegalArgumentException("pageTokens must be at least 1, not " + pageTokens);
        }
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
