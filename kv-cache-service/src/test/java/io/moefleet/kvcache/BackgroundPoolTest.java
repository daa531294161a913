package io.moefleet.kvcache;

import com.hazelcast.client.HazelcastClientOfflineException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A handle made by connectInBackground: it waits for a first member no longer than it is told, fails fast while there
 * is none, finds the pool once it is up, and is ready at once when the pool is there already.
 */
@Timeout(60)
class BackgroundPoolTest {

    @Test
    void aPoolThatIsUpIsReadyWhenTheHandleReturns() {
        try (TestCluster cluster = new TestCluster(1, MemoryBudget.parse("64m")).start()) {
            long start = System.nanoTime();
            try (KvPool pool = HazelcastKvPool.connectInBackground(cluster.name, cluster.addresses, Pages.TOKENS, Duration.ofSeconds(20))) {
                long tookMs = (System.nanoTime() - start) / 1_000_000;
                assertTrue(tookMs < 10_000, "connecting took " + tookMs + " ms");
                List<PageKey> keys = PageKeys.of(Pages.MODEL, Pages.tokens(Pages.TOKENS, 31), Pages.TOKENS);
                assertTrue(pool.publish(keys.getFirst(), Pages.random(0, 31)), "the first call reached the member");
            }
        }
    }

    @Test
    void callsFailAtOnceUntilAMemberIsUpThenReachIt() {
        TestCluster cluster = new TestCluster(1, MemoryBudget.parse("64m"));
        long start = System.nanoTime();
        try (KvPool pool = HazelcastKvPool.connectInBackground(cluster.name, cluster.addresses, Pages.TOKENS, Duration.ofMillis(500))) {
            long waitedMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(waitedMs >= 500 && waitedMs < 5_000, "connectInBackground waited " + waitedMs + " ms for a pool that is not there");
            List<PageKey> keys = PageKeys.of(Pages.MODEL, Pages.tokens(Pages.TOKENS, 30), Pages.TOKENS);

            long call = System.nanoTime();
            assertThrows(HazelcastClientOfflineException.class, () -> pool.getPrefix(keys));
            assertThrows(HazelcastClientOfflineException.class, () -> pool.publish(keys.getFirst(), Pages.random(0, 30)));
            assertTrue((System.nanoTime() - call) / 1_000_000 < 1_000, "an offline call waited");
            assertEquals(0, pool.stats().published());

            cluster.start();
            long deadline = System.nanoTime() + 30_000_000_000L;
            boolean published = false;
            while (!published) {
                assertTrue(System.nanoTime() < deadline, "the client never reached the member");
                try {
                    published = pool.publish(keys.getFirst(), Pages.random(0, 30));
                } catch (HazelcastClientOfflineException notYet) {
                    sleep();
                }
            }
            assertEquals(1, pool.getPrefix(keys).size());
            assertEquals(1, pool.stats().published());
        } finally {
            cluster.close();
        }
    }

    private static void sleep() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
