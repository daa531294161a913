package io.moefleet.attention;

import io.moefleet.kvcache.KvCacheMember;
import io.moefleet.kvcache.MemoryBudget;
import io.moefleet.kvcache.TestCluster;
import java.time.Duration;
import java.util.List;

/**
 * KV pool members in this JVM, on loopback ports of their own, in a cluster of their own (the pool's own
 * {@link TestCluster}), with what an attention instance is given to reach them; closing terminates those still up.
 */
final class PoolMembers implements AutoCloseable {

    private final TestCluster cluster;
    final String clusterName;
    final List<String> addresses;
    final List<KvCacheMember> members;

    private PoolMembers(TestCluster cluster) {
        this.cluster = cluster;
        this.clusterName = cluster.name;
        this.addresses = cluster.addresses;
        this.members = cluster.members;
    }

    /** {@code size} members, each joining the ones before it, 64 MiB each. */
    static PoolMembers start(int size) {
        return new PoolMembers(new TestCluster(size, MemoryBudget.parse("64m")).start());
    }

    /** What an attention instance is given: pages of {@code pageTokens}, {@code hotBytes} kept hot, a 2 s fetch timeout. */
    KvPoolSettings settings(int pageTokens, long hotBytes) {
        return new KvPoolSettings(addresses, clusterName, pageTokens, hotBytes, Duration.ofSeconds(2));
    }

    /** Waits (up to 20 s) until {@code member} sees {@code size} members. */
    void awaitClusterSize(int member, int size) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (members.get(member).clusterSize() != size) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("member " + member + " sees " + members.get(member).clusterSize() + " members, not " + size);
            }
            PagedRequests.sleep(20);
        }
    }

    @Override
    public void close() {
        cluster.close();
    }
}
