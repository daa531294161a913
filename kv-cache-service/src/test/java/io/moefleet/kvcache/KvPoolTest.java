package io.moefleet.kvcache;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** One member and a client; every test uses tokens of its own, so the shared pool does not couple them. */
class KvPoolTest {

    private static TestCluster cluster;
    private static KvPool pool;

    @BeforeAll
    static void start() {
        cluster = new TestCluster(1, MemoryBudget.parse("128m")).start();
        pool = cluster.client(Pages.TOKENS);
    }

    @AfterAll
    static void stop() {
        if (pool != null) {
            pool.close();
        }
        if (cluster != null) {
            cluster.close();
        }
    }

    @Test
    void aMemberAnswersTheKubernetesProbesOnItsPort() throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        for (String path : List.of("/hazelcast/health/ready", "/hazelcast/health/node-state")) {
            java.net.http.HttpResponse<String> answer = http.send(java.net.http.HttpRequest.newBuilder(
                    java.net.URI.create("http://" + cluster.addresses.getFirst() + path)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertEquals(200, answer.statusCode(), path + ": " + answer.body());
        }
    }

    @Test
    void publishedPagesComeBackByteForByte() {
        List<PageKey> keys = PageKeys.of(Pages.MODEL, Pages.tokens(2 * Pages.TOKENS, 10), Pages.TOKENS);
        KvPage page = Pages.random(1, 10);
        assertTrue(pool.get(keys.get(1)).isEmpty());
        assertTrue(pool.publish(keys.get(1), page));
        KvPage back = pool.get(keys.get(1)).orElseThrow();
        assertEquals(page.latentBytes(), back.latentBytes());
        assertEquals(Pages.MODEL, back.modelId());
        assertEquals(1, back.pageIndex());
        assertEquals(Pages.TOKENS, back.tokenCount());
        assertEquals(Pages.LAYERS, back.layers());
        assertEquals(Pages.WIDTH, back.width());
        float[] row = new float[Pages.WIDTH];
        float[] expected = new float[Pages.WIDTH];
        back.copyLatent(7, 15, row);
        page.copyLatent(7, 15, expected);
        assertEquals(Arrays.toString(expected), Arrays.toString(row));
    }

    @Test
    void publishingAPresentKeyKeepsTheFirstPage() {
        PageKey key = PageKeys.of(Pages.MODEL, Pages.tokens(Pages.TOKENS, 11), Pages.TOKENS).get(0);
        KvPage first = Pages.random(0, 11);
        KvPoolStats before = pool.stats();
        assertTrue(pool.publish(key, first));
        assertFalse(pool.publish(key, Pages.random(0, 12)));
        assertEquals(first.latentBytes(), pool.get(key).orElseThrow().latentBytes());
        KvPoolStats after = pool.stats();
        assertEquals(1, after.published() - before.published());
        assertEquals(1, after.alreadyPresent() - before.alreadyPresent());
    }

    @Test
    void aPageOfAnotherSizeIsRefused() {
        PageKey key = PageKeys.of(Pages.MODEL, Pages.tokens(8, 13), 8).get(0);
        assertThrows(IllegalArgumentException.class,
                () -> pool.publish(key, Pages.random(Pages.MODEL, 0, 8, 2, 4, 13)));
    }

    @Test
    void theLongestCachedPrefixStopsAtTheFirstGap() {
        int[] tokens = Pages.tokens(6 * Pages.TOKENS + 5, 14);
        List<PageKey> keys = PageKeys.of(Pages.MODEL, tokens, Pages.TOKENS);
        assertEquals(6, keys.size());
        assertEquals(0, pool.longestCachedPrefix(Pages.MODEL, tokens));
        for (int i : new int[] {0, 1, 2, 4, 5}) {
            pool.publish(keys.get(i), Pages.random(i, 100 + i));
        }
        assertEquals(3, pool.longestCachedPrefix(Pages.MODEL, tokens));
        assertEquals(3, pool.getPrefix(keys).size());
        pool.publish(keys.get(3), Pages.random(3, 103));
        assertEquals(6, pool.longestCachedPrefix(Pages.MODEL, tokens));
        List<KvPage> prefix = pool.getPrefix(keys);
        assertEquals(6, prefix.size());
        for (int i = 0; i < 6; i++) {
            assertEquals(Pages.random(i, 100 + i).latentBytes(), prefix.get(i).latentBytes());
        }
        assertEquals(0, pool.longestCachedPrefix("another-model", tokens));
        int[] diverging = tokens.clone();
        diverging[2 * Pages.TOKENS + 3]++;
        assertEquals(2, pool.longestCachedPrefix(Pages.MODEL, diverging));
    }

    @Test
    void countersAddUp() {
        List<PageKey> keys = PageKeys.of(Pages.MODEL, Pages.tokens(2 * Pages.TOKENS, 15), Pages.TOKENS);
        KvPoolStats before = pool.stats();
        pool.publish(keys.get(0), Pages.random(0, 15));
        pool.get(keys.get(0));
        pool.get(keys.get(1));
        pool.longestCachedPrefix(keys);
        KvPoolStats after = pool.stats();
        assertEquals(1, after.hits() - before.hits());
        assertEquals(1, after.misses() - before.misses());
        assertEquals(1, after.prefixLookups() - before.prefixLookups());
        assertEquals(1, after.prefixPages() - before.prefixPages());
    }

    /** Reported, not asserted: a small-preset page (16 tokens x 8 layers x 288 floats, 144 KiB) over loopback. */
    @Test
    void pagePutAndGetLatency() {
        int warmup = 200; // with the measured pages, 58 MiB: well within the budget, nothing evicted
        int measured = 200;
        int[] tokens = Pages.tokens((warmup + measured) * Pages.TOKENS, 16);
        List<PageKey> keys = PageKeys.of(Pages.MODEL, tokens, Pages.TOKENS);
        KvPage page = Pages.random(0, 16);
        long[] put = new long[measured];
        long[] get = new long[measured];
        for (int i = 0; i < keys.size(); i++) {
            long t0 = System.nanoTime();
            assertTrue(pool.publish(keys.get(i), page));
            long t1 = System.nanoTime();
            assertEquals(page.byteSize(), pool.get(keys.get(i)).orElseThrow().byteSize());
            long t2 = System.nanoTime();
            if (i >= warmup) {
                put[i - warmup] = t1 - t0;
                get[i - warmup] = t2 - t1;
            }
        }
        Arrays.sort(put);
        Arrays.sort(get);
        System.err.printf("kv page of %d bytes over loopback (client -> 1 member): publish p50 %d us p99 %d us,"
                        + " get p50 %d us p99 %d us%n", page.byteSize(), put[measured / 2] / 1000,
                put[measured * 99 / 100] / 1000, get[measured / 2] / 1000, get[measured * 99 / 100] / 1000);
    }
}
