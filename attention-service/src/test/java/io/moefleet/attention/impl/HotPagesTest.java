package io.moefleet.attention.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moefleet.kvcache.KvPage;
import io.moefleet.kvcache.PageKey;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The hot pages keep within their budget, least recently used out first, and count what they evict. */
class HotPagesTest {

    private static PageKey key(int i) {
        byte[] hash = new byte[PageKey.BYTES];
        hash[0] = (byte) i;
        return PageKey.of(hash);
    }

    private static KvPage page(int i) {
        return KvPage.of("model", i, 4, 1, 2, new byte[4 * 2 * Float.BYTES]);
    }

    @Test
    void theLeastRecentlyUsedGoFirstAndAreCounted() {
        long size = page(0).byteSize();
        HotPages hot = new HotPages(2 * size);
        hot.put(key(0), page(0));
        hot.put(key(1), page(1));
        hot.leadingRun(List.of(key(0)));   // page 0 used: page 1 is now the least recently used
        hot.put(key(2), page(2));
        assertEquals(2, hot.size());
        assertEquals(1, hot.evicted());
        assertEquals(1, hot.leadingRunLength(List.of(key(0))), "the used page stays");
        assertEquals(0, hot.leadingRunLength(List.of(key(1))), "the least recently used went");
        hot.put(key(3), page(3));
        assertEquals(2, hot.evicted());
        assertEquals(2 * size, hot.bytes());
    }
}
