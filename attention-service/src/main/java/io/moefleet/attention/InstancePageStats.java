package io.moefleet.attention;

/**
 * What one attention instance did with KV pages (all zero without a pool; see {@code PageStats} in attention.proto).
 *
 * @param pageTokens        tokens per page, 0 without a pool
 * @param admitted          sequences started by Admit
 * @param restoredTokens    prompt positions restored instead of computed
 * @param hotPagesUsed      pages restored from the instance's own memory
 * @param poolPagesFetched  pages restored from the pool (pool hits)
 * @param poolMisses        lookups that found fewer pages in the pool than the prompt could use
 * @param fetchFailures     pool lookups that failed or did not answer in time
 * @param pagesPublished    pages stored in the pool
 * @param publishesPresent  publishes of pages the pool held already
 * @param publishFailures   publishes that failed
 * @param publishesDropped  publishes dropped because the queue was full
 * @param publishesPending  publishes queued or running now
 * @param hotPages          pages held hot now
 * @param hotBytes          their bytes
 * @param hotPagesEvicted   hot pages evicted to keep within the memory budget
 */
public record InstancePageStats(int pageTokens, long admitted, long restoredTokens, long hotPagesUsed, long poolPagesFetched,
        long poolMisses, long fetchFailures, long pagesPublished, long publishesPresent, long publishFailures,
        long publishesDropped, int publishesPending, int hotPages, long hotBytes, long hotPagesEvicted) {

    /** An instance without a pool, or one that has not served yet. */
    public static final InstancePageStats NONE = new InstancePageStats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
}
