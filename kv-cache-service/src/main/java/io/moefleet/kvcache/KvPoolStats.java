package io.moefleet.kvcache;

/**
 * Counters of one pool handle, for metrics.
 *
 * @param hits           pages found by {@code get} and {@code getPrefix}
 * @param misses         {@code get} calls that found nothing, and {@code getPrefix} calls that stopped short
 * @param published      pages this handle stored
 * @param alreadyPresent publishes skipped because the key was present
 * @param prefixLookups  {@code longestCachedPrefix} calls
 * @param prefixPages    pages those lookups found
 * @param evicted        pages the cluster evicted under its memory budget since this handle connected
 */
public record KvPoolStats(long hits, long misses, long published, long alreadyPresent, long prefixLookups,
                          long prefixPages, long evicted) {
}
