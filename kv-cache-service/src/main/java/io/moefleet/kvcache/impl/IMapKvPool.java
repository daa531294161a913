package io.moefleet.kvcache.impl;

import com.hazelcast.core.HazelcastInstance;
import com.hazelcast.map.IMap;
import com.hazelcast.map.listener.EntryEvictedListener;
import io.moefleet.kvcache.KvPage;
import io.moefleet.kvcache.KvPool;
import io.moefleet.kvcache.KvPoolStats;
import io.moefleet.kvcache.PageKey;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.LongAdder;

/** The pool over the Hazelcast map, whether reached through a client or from inside a member. */
public final class IMapKvPool implements KvPool {

    /** The one map that holds the pool: page key (hex) to encoded page ({@link PageCodec}). */
    public static final String MAP_NAME = "kv-pages";

    private final IMap<String, byte[]> pages;
    private final int pageTokens;
    private final Runnable release;
    private final UUID evictionListener;
    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder published = new LongAdder();
    private final LongAdder alreadyPresent = new LongAdder();
    private final LongAdder prefixLookups = new LongAdder();
    private final LongAdder prefixPages = new LongAdder();
    private final LongAdder evicted = new LongAdder();

    private IMapKvPool(IMap<String, byte[]> pages, int pageTokens, Runnable release) {
        if (pageTokens < 1) {
            throw new IllegalArgumentException("pageTokens must be at least 1, not " + pageTokens);
        }
        this.pages = pages;
        this.pageTokens = pageTokens;
        this.release = release;
        this.evictionListener = pages.addEntryListener(
                (EntryEvictedListener<String, byte[]>) event -> evicted.increment(), false);
    }

    /**
     * The pool as seen from {@code instance}, a client or a member.
     *
     * @param release what closing the handle also does (shut a client down; nothing for a member's own handle)
     */
    public static KvPool over(HazelcastInstance instance, int pageTokens, Runnable release) {
        return new IMapKvPool(instance.getMap(MAP_NAME), pageTokens, release);
    }

    @Override
    public int pageTokens() {
        return pageTokens;
    }

    @Override
    public boolean publish(PageKey key, KvPage page) {
        if (page.tokenCount() != pageTokens) {
            throw new IllegalArgumentException("this pool holds pages of " + pageTokens + " tokens, not "
                    + page.tokenCount());
        }
        // containsKey first: putIfAbsent on a present key would send the stored page back over the wire
        String hex = key.hex();
        if (!pages.containsKey(hex) && pages.putIfAbsent(hex, PageCodec.encode(page)) == null) {
            published.increment();
            return true;
        }
        alreadyPresent.increment();
        return false;
    }

    @Override
    public Optional<KvPage> get(PageKey key) {
        byte[] bytes = pages.get(key.hex());
        if (bytes == null) {
            misses.increment();
            return Optional.empty();
        }
        hits.increment();
        return Optional.of(PageCodec.decode(bytes));
    }

    @Override
    public List<KvPage> getPrefix(List<PageKey> keys) {
        Map<String, byte[]> found = pages.getAll(hexes(keys));
        List<KvPage> prefix = new ArrayList<>(found.size());
        for (PageKey key : keys) {
            byte[] bytes = found.get(key.hex());
            if (bytes == null) {
                misses.increment();
                break;
            }
            prefix.add(PageCodec.decode(bytes));
        }
        hits.add(prefix.size());
        return prefix;
    }

    @Override
    public int longestCachedPrefix(List<PageKey> keys) {
        prefixLookups.increment();
        if (keys.isEmpty()) {
            return 0;
        }
        Map<String, Boolean> present = pages.executeOnKeys(hexes(keys), new PresenceProbe());
        int run = 0;
        while (run < keys.size() && present.get(keys.get(run).hex()) != null) {
            run++;
        }
        prefixPages.add(run);
        return run;
    }

    @Override
    public KvPoolStats stats() {
        return new KvPoolStats(hits.sum(), misses.sum(), published.sum(), alreadyPresent.sum(), prefixLookups.sum(),
                prefixPages.sum(), evicted.sum());
    }

    @Override
    public void close() {
        try {
            pages.removeEntryListener(evictionListener);
        } finally {
            release.run();
        }
    }

    private static Set<String> hexes(List<PageKey> keys) {
        Set<String> hexes = new LinkedHashSet<>(keys.size() * 2);
        for (PageKey key : keys) {
            hexes.add(key.hex());
        }
        return hexes;
    }
}
