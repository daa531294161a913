package io.moefleet.attention.impl;

import io.moefleet.kvcache.KvPage;
import io.moefleet.kvcache.PageKey;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The pages an instance keeps in its own memory (the ones it published or restored last), least recently used out
 * first once their bytes pass the budget, so that a prefix this instance computed is restored here without a pool
 * fetch. Pages are immutable and shared with nobody: a held sequence has its own copy in its cache.
 */
final class HotPages {

    private final long budgetBytes;
    private final LinkedHashMap<PageKey, KvPage> pages = new LinkedHashMap<>(16, 0.75f, true);
    private long bytes;
    private long evicted;

    HotPages(long budgetBytes) {
        this.budgetBytes = budgetBytes;
    }

    /** Keeps {@code page} (unless it alone is over the budget), evicting the least recently used pages to fit. */
    synchronized void put(PageKey key, KvPage page) {
        if (page.byteSize() > budgetBytes || pages.get(key) != null) {
            return;   // a present page is only refreshed: equal keys mean equal latents
        }
        pages.put(key, page);
        bytes += page.byteSize();
        Iterator<Map.Entry<PageKey, KvPage>> eldest = pages.entrySet().iterator();
        while (bytes > budgetBytes) {
            bytes -= eldest.next().getValue().byteSize();
            eldest.remove();
            evicted++;
        }
    }

    /** The pages of the leading keys held here, up to the first one that is not (they count as used). */
    synchronized List<KvPage> leadingRun(List<PageKey> keys) {
        List<KvPage> run = new ArrayList<>();
        for (PageKey key : keys) {
            KvPage page = pages.get(key);
            if (page == null) {
                break;
            }
            run.add(page);
        }
        return run;
    }

    /** How many of the leading keys are held here, without counting as a use (a routing probe). */
    synchronized int leadingRunLength(List<PageKey> keys) {
        int run = 0;
        while (run < keys.size() && pages.containsKey(keys.get(run))) {
            run++;
        }
        return run;
    }

    /** Pages evicted so far to keep within the budget. */
    synchronized long evicted() {
        return evicted;
    }

    synchronized int size() {
        return pages.size();
    }

    synchronized long bytes() {
        return bytes;
    }
}
