package io.moefleet.kvcache.impl;

import com.hazelcast.core.HazelcastInstance;
import io.moefleet.kvcache.KvPage;
import io.moefleet.kvcache.KvPool;
import io.moefleet.kvcache.KvPoolStats;
import io.moefleet.kvcache.PageKey;

import java.util.List;
import java.util.Optional;

/**
 * The pool through a client that connects in the background ({@link ClientConfigs#inBackground}): every call goes to
 * the map once the client has reached a member, and fails at once while it has none. The map handle is made on the
 * first call with a connection, since making it (and its eviction listener) needs one.
 */
public final class BackgroundKvPool implements KvPool {

    private final HazelcastInstance client;
    private final int pageTokens;
    private volatile KvPool connected;

    public BackgroundKvPool(HazelcastInstance client, int pageTokens) {
        if (pageTokens < 1) {
            throw new IllegalArgumentException("pageTokens must be at least 1, not " + pageTokens);
        }
        this.client = client;
        this.pageTokens = pageTokens;
    }

    @Override
    public int pageTokens() {
        return pageTokens;
    }

    @Override
    public boolean publish(PageKey key, KvPage page) {
        return pool().publish(key, page);
    }

    @Override
    public Optional<KvPage> get(PageKey key) {
        return pool().get(key);
    }

    @Override
    public List<KvPage> getPrefix(List<PageKey> keys) {
        return pool().getPrefix(keys);
    }

    @Override
    public int longestCachedPrefix(List<PageKey> keys) {
        return pool().longestCachedPrefix(keys);
    }

    /** Zeros until the first call that reached the pool. */
    @Override
    public KvPoolStats stats() {
        KvPool pool = connected;
        return pool != null ? pool.stats() : new KvPoolStats(0, 0, 0, 0, 0, 0, 0);
    }

    @Override
    public void close() {
        try {
            KvPool pool = connected;
            if (pool != null) {
                pool.close();   // removes the eviction listener; the client goes below either way
            }
        } catch (RuntimeException offline) {
            // no member to tell: the listener ends with the client
        } finally {
            client.shutdown();
        }
    }

    private KvPool pool() {
        KvPool pool = connected;
        if (pool == null) {
            synchronized (this) {
                if (connected == null) {
                    connected = IMapKvPool.over(client, pageTokens, () -> { });   // offline: throws, and the next call tries again
                }
                pool = connected;
            }
        }
        return pool;
    }
}
