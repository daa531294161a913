package io.moefleet.kvcache;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EvictionTest {

    @Test
    void aSmallBudgetEvictsOldPagesAndKeepsServingNewOnes() {
        MemoryBudget budget = MemoryBudget.parse("8m");
        int pages = 150; // 150 x 144 KiB = 21 MiB of pages, 42 MiB with backups, against 2 x 8 MiB
        // 7 partitions: about 8 pages each at the budget, so a new page is never alone in its partition
        try (TestCluster cluster = new TestCluster(2, budget, 7).start();
             KvPool pool = cluster.client(Pages.TOKENS)) {
            int[] tokens = Pages.tokens(pages * Pages.TOKENS, 30);
            List<PageKey> keys = PageKeys.of(Pages.MODEL, tokens, Pages.TOKENS);
            KvPage page = Pages.random(0, 30);
            long slack = 2L * (page.byteSize() + 1024); // a put lands before the eviction it triggers
            for (int i = 0; i < pages; i++) {
                pool.publish(keys.get(i), page);
                // victims are sampled least-recently-used entries of the partition written, never the page just put there
                assertEquals(page.latentBytes(), pool.get(keys.get(i)).orElseThrow().latentBytes(), "page " + i + " right after publishing");
                for (KvCacheMember member : cluster.members) {
                    long bytes = member.pageBytes();
                    assertTrue(bytes <= budget.bytes() + slack,
                            member.address() + " holds " + bytes + " bytes after page " + i + ", budget "
                                    + budget.bytes());
                }
            }
            long held = keys.stream().filter(key -> pool.longestCachedPrefix(List.of(key)) == 1).count();
            assertTrue(held < pages / 2, "only " + held + " of " + pages + " pages should fit");
            awaitEvictionEvents(pool);
            System.err.printf("eviction: %d of %d pages held, %d evictions seen, member bytes %d / %d%n", held, pages,
                    pool.stats().evicted(), cluster.members.get(0).pageBytes(), cluster.members.get(1).pageBytes());
        }
    }

    /** Eviction events reach the client asynchronously. */
    private static void awaitEvictionEvents(KvPool pool) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (pool.stats().evicted() == 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertTrue(pool.stats().evicted() > 0, "the client saw no eviction");
    }
}
