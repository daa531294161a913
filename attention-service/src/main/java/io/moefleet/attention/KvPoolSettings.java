package io.moefleet.attention;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * How an attention instance uses the fleet's KV pool (kv-cache-service).
 *
 * @param members      some pool members' {@code host:port} (the client finds the rest)
 * @param clusterName  the pool's cluster name
 * @param pageTokens   tokens per page: the same for every instance of the fleet, since it is part of every page key
 * @param hotBytes     memory for the pages the instance keeps hot (the last pages it published or restored, least
 *                     recently used first out); 0 keeps none, so every restore comes from the pool
 * @param poolTimeout  how long the instance waits for the pool, before it goes on without: at start for a first
 *                     connection, and on each lookup of a new prompt's pages (then computed instead)
 */
public record KvPoolSettings(List<String> members, String clusterName, int pageTokens, long hotBytes, Duration poolTimeout) {

    /**
     * 64 tokens a page: big enough that a page's keys, lookups and pool entries cost little next to its latents
     * (Kimi K2: 61 layers x 576 floats x 64 tokens = 9 MiB a page), small enough that a shared prefix rarely loses
     * much to the partial page at its end.
     */
    public static final int DEFAULT_PAGE_TOKENS = 64;
    public static final long DEFAULT_HOT_BYTES = 256L << 20;
    public static final Duration DEFAULT_POOL_TIMEOUT = Duration.ofSeconds(5);

    public KvPoolSettings {
        members = List.copyOf(members);
        Objects.requireNonNull(clusterName, "clusterName");
        Objects.requireNonNull(poolTimeout, "poolTimeout");
        if (members.isEmpty()) {
            throw new IllegalArgumentException("the KV pool needs at least one member address");
        }
        if (pageTokens < 1) {
            throw new IllegalArgumentException("KV page tokens must be at least 1, got " + pageTokens);
        }
        if (hotBytes < 0) {
            throw new IllegalArgumentException("the hot page memory cannot be negative, got " + hotBytes);
        }
        if (poolTimeout.isNegative() || poolTimeout.isZero()) {
            throw new IllegalArgumentException("the KV pool timeout must be positive, got " + poolTimeout);
        }
    }

    /** The pool of cluster {@code clusterName} at {@code members}, pages of {@code pageTokens}, the other settings at their defaults. */
    public static KvPoolSettings of(List<String> members, String clusterName, int pageTokens) {
        return new KvPoolSettings(members, clusterName, pageTokens, DEFAULT_HOT_BYTES, DEFAULT_POOL_TIMEOUT);
    }

    public KvPoolSettings withHotBytes(long bytes) {
        return new KvPoolSettings(members, clusterName, pageTokens, bytes, poolTimeout);
    }
}
