package io.moefleet.kvcache;

import java.util.List;
import java.util.Optional;

/**
 * The fleet's pool of immutable KV pages, shared by every attention instance. Pages of one size ({@link #pageTokens()})
 * keyed by {@link PageKeys}; a page may vanish when the pool evicts it, never change.
 */
public interface KvPool extends AutoCloseable {

    /** Tokens per page: every published page covers exactly this many. */
    int pageTokens();

    /**
     * Stores a page unless its key is already present (a present page is not rewritten: equal keys mean equal
     * latents).
     *
     * @return whether this call stored it
     */
    boolean publish(PageKey key, KvPage page);

    /** The page under {@code key}, if the pool holds it. */
    Optional<KvPage> get(PageKey key);

    /**
     * The leading run of pages the pool holds, fetched in one batch: pages up to the first missing key, in key order.
     */
    List<KvPage> getPrefix(List<PageKey> keys);

    /** How many leading full pages of {@code tokens} the pool holds: it stops at the first missing page. */
    default int longestCachedPrefix(String modelId, int[] tokens) {
        return longestCachedPrefix(PageKeys.of(modelId, tokens, pageTokens()));
    }

    /** How many of the leading {@code keys} the pool holds, stopping at the first missing one; one batch lookup. */
    int longestCachedPrefix(List<PageKey> keys);

    /** What this pool handle has done so far (evictions: the whole cluster's, seen since it connected). */
    KvPoolStats stats();

    /** Releases this handle (a client disconnects; a member's own handle leaves the member running). */
    @Override
    void close();
}
