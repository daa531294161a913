package io.moefleet.kvcache;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FailoverTest {

    private static final int PAGES = 24;

    @ParameterizedTest(name = "member {0} lost by {1}")
    @CsvSource({"0, shutdown", "1, shutdown", "0, terminate", "1, terminate"})
    void everyPageSurvivesTheLossOfEitherMember(int lost, String how) {
        try (TestCluster cluster = new TestCluster(2, MemoryBudget.parse("64m")).start();
             KvPool pool = cluster.client(Pages.TOKENS)) {
            assertEquals(2, cluster.members.get(0).clusterSize());
            int[] tokens = Pages.tokens(PAGES * Pages.TOKENS, 20);
            List<PageKey> keys = PageKeys.of(Pages.MODEL, tokens, Pages.TOKENS);
            for (int i = 0; i < PAGES; i++) {
                pool.publish(keys.get(i), Pages.random(i, i));
            }
            long owned = cluster.members.get(lost).ownedPages();
            assertEquals(PAGES, owned + cluster.members.get(1 - lost).ownedPages());
            assertTrue(owned > 0, "the lost member owned pages, so their survival proves the backups");

            KvCacheMember member = cluster.members.get(lost);
            if (how.equals("shutdown")) {
                member.shutdown();
            } else {
                member.terminate();
            }

            TestCluster.awaitClusterSize(cluster.members.get(1 - lost), 1);
            assertEquals(PAGES, pool.longestCachedPrefix(Pages.MODEL, tokens));
            for (int i = 0; i < PAGES; i++) {
                assertEquals(Pages.random(i, i).latentBytes(), pool.get(keys.get(i)).orElseThrow().latentBytes(),
                        "page " + i);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void aMemberCutOffFromTheQuorumTakesNoPage() {
        try (TestCluster cluster = new TestCluster(3, MemoryBudget.parse("64m")).withQuorum(2).start();
             KvPool pool = cluster.client(Pages.TOKENS)) {
            TestCluster.awaitClusterSize(cluster.members.get(0), 3);
            int[] tokens = Pages.tokens(2 * Pages.TOKENS, 21);
            List<PageKey> keys = PageKeys.of(Pages.MODEL, tokens, Pages.TOKENS);
            pool.publish(keys.get(0), Pages.random(0, 0));
            cluster.members.get(1).terminate();
            TestCluster.awaitClusterSize(cluster.members.get(0), 2);
            pool.publish(keys.get(1), Pages.random(1, 1));          // two of three: still a quorum
            assertEquals(2, pool.longestCachedPrefix(Pages.MODEL, tokens));

            cluster.members.get(2).terminate();                     // one left: a minority must not take writes
            TestCluster.awaitClusterSize(cluster.members.get(0), 1);
            RuntimeException refused = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                    () -> pool.publish(PageKeys.of(Pages.MODEL, Pages.tokens(Pages.TOKENS, 22), Pages.TOKENS).getFirst(),
                            Pages.random(2, 2)));
            assertTrue(String.valueOf(refused).contains("SplitBrainProtection") || String.valueOf(refused.getCause()).contains("SplitBrain"),
                    String.valueOf(refused));
        }
    }
}
