package io.moefleet.attention.impl;

import io.moefleet.kvcache.PageKey;
import io.moefleet.model.forward.Sequence;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A sequence an instance serves: its latent cache (in the {@link Sequence}), the token ids of its cached positions (page
 * keys are a hash chain over them), and the keys of its leading full pages already published or restored.
 */
final class HeldSequence {

    private final Sequence sequence;
    private int[] tokens;
    private int tokenCount;
    private final List<PageKey> pageKeys;

    private HeldSequence(Sequence sequence, int[] tokens, List<PageKey> pageKeys) {
        this.sequence = sequence;
        this.tokens = tokens;
        this.tokenCount = tokens.length;
        this.pageKeys = new ArrayList<>(pageKeys);
    }

    /** A sequence started by its first chunk: nothing cached yet. */
    static HeldSequence started(Sequence sequence) {
        return new HeldSequence(sequence, new int[0], List.of());
    }

    /** A sequence whose first {@code tokens.length} positions were restored from the pages {@code pageKeys}. */
    static HeldSequence restored(Sequence sequence, int[] tokens, List<PageKey> pageKeys) {
        if (sequence.length() != tokens.length) {
            throw new IllegalArgumentException(tokens.length + " restored tokens for " + sequence.length() + " cached positions");
        }
        return new HeldSequence(sequence, tokens.clone(), pageKeys);
    }

    Sequence sequence() {
        return sequence;
    }

    /**
     * After the model's last layer of a step: positions {@code [start, start + chunk.length)} now hold these tokens
     * (a start below the recorded tokens, a recomputed suffix, drops the later ones).
     */
    void record(int start, int[] chunk) {
        if (start > tokenCount) {
            throw new IllegalStateException("a chunk at position " + start + " but only " + tokenCount + " tokens are recorded");
        }
        int end = start + chunk.length;
        if (end > tokens.length) {
            tokens = Arrays.copyOf(tokens, Math.max(end, 2 * tokens.length));
        }
        System.arraycopy(chunk, 0, tokens, start, chunk.length);
        tokenCount = end;
    }

    /** The recorded tokens: valid up to {@link #tokenCount()}. */
    int[] tokens() {
        return tokens;
    }

    int tokenCount() {
        return tokenCount;
    }

    /** Leading full pages whose keys are known (published or restored). */
    int keyedPages() {
        return pageKeys.size();
    }

    /** The key of page {@code index} (below {@link #keyedPages()}). */
    PageKey pageKey(int index) {
        return pageKeys.get(index);
    }

    void addPageKey(PageKey key) {
        pageKeys.add(key);
    }

    /** Forgets the keys of the pages from {@code page} on (their tokens were recomputed, maybe changed). */
    void dropPageKeysFrom(int page) {
        if (page < pageKeys.size()) {
            pageKeys.subList(page, pageKeys.size()).clear();
        }
    }
}
