package io.moefleet.kvcache;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PageKeysTest {

    private static final int P = 4;

    @Test
    void equalPrefixesGiveEqualKeysWhateverFollows() {
        int[] tokens = Pages.tokens(20, 1);
        int[] longer = Arrays.copyOf(tokens, 33);
        longer[25] = 7;
        List<PageKey> a = PageKeys.of("m", tokens, P);
        List<PageKey> b = PageKeys.of("m", longer, P);
        assertEquals(5, a.size());
        assertEquals(8, b.size());
        assertEquals(a, b.subList(0, 5));
        assertEquals(a, PageKeys.of("m", tokens.clone(), P));
    }

    @Test
    void aChangedTokenChangesEveryKeyFromItsPageOn() {
        int[] tokens = Pages.tokens(24, 2);
        List<PageKey> before = PageKeys.of("m", tokens, P);
        for (int changed = 0; changed < tokens.length; changed++) {
            int[] edited = tokens.clone();
            edited[changed]++;
            List<PageKey> after = PageKeys.of("m", edited, P);
            int page = changed / P;
            assertEquals(before.subList(0, page), after.subList(0, page), "token " + changed);
            for (int i = page; i < before.size(); i++) {
                assertNotEquals(before.get(i), after.get(i), "token " + changed + ", page " + i);
            }
        }
    }

    @Test
    void anotherModelChangesEveryKey() {
        int[] tokens = Pages.tokens(16, 3);
        List<PageKey> a = PageKeys.of("kimi-k2", tokens, P);
        List<PageKey> b = PageKeys.of("kimi-k2-q8", tokens, P);
        for (int i = 0; i < a.size(); i++) {
            assertNotEquals(a.get(i), b.get(i));
        }
    }

    @Test
    void aPartialTrailingPageHasNoKey() {
        assertEquals(2, PageKeys.of("m", Pages.tokens(11, 4), P).size());
        assertEquals(3, PageKeys.of("m", Pages.tokens(12, 4), P).size());
        assertEquals(0, PageKeys.of("m", Pages.tokens(3, 4), P).size());
        assertThrows(IllegalArgumentException.class, () -> PageKeys.of("m", new int[8], 0));
    }

    @Test
    void pageSizeIsPartOfTheKey() {
        int[] tokens = Pages.tokens(16, 5);
        assertNotEquals(PageKeys.of("m", tokens, 8).get(0), PageKeys.of("m", tokens, 4).get(1));
        assertNotEquals(PageKeys.of("m", tokens, 8).get(0), PageKeys.of("m", tokens, 16).get(0));
    }

    @Test
    void theChainGrownAPageAtATimeGivesTheSameKeys() {
        int[] tokens = Pages.tokens(22, 7);
        List<PageKey> all = PageKeys.of("m", tokens, P);
        PageKey previous = null;
        for (int i = 0; i < all.size(); i++) {
            previous = PageKeys.next("m", previous, tokens, i * P, P);
            assertEquals(all.get(i), previous, "page " + i);
        }
        assertThrows(IllegalArgumentException.class, () -> PageKeys.next("m", null, tokens, P, P), "page 1 without page 0's key");
        assertThrows(IllegalArgumentException.class, () -> PageKeys.next("m", all.get(0), tokens, 0, P), "page 0 with a predecessor");
        assertThrows(IllegalArgumentException.class, () -> PageKeys.next("m", all.get(4), tokens, 20, P), "a partial page");
    }

    @Test
    void keysAre256BitsAndSurviveHex() {
        PageKey key = PageKeys.of("m", Pages.tokens(4, 6), P).get(0);
        assertEquals(64, key.hex().length());
        assertEquals(PageKey.BYTES, key.bytes().length);
        assertEquals(key, PageKey.ofHex(key.hex()));
        assertEquals(key, PageKey.of(key.bytes()));
    }
}
