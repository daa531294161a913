package io.moefleet.kvcache;

import io.moefleet.rpc.ListenPorts;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** Pool members on loopback ports of their own, in a cluster of their own; closing stops every one still running. */
public final class TestCluster implements AutoCloseable {

    public final String name = "kv-test-" + UUID.randomUUID();
    public final List<String> addresses;
    public final List<KvCacheMember> members = new ArrayList<>();
    private final MemoryBudget budget;
    private final int partitions;
    private int quorum;

    public TestCluster(int size, MemoryBudget budget) {
        this(size, budget, KvCacheConfig.DEFAULT_PARTITIONS);
    }

    TestCluster(int size, MemoryBudget budget, int partitions) {
        this.budget = budget;
        this.partitions = partitions;
        this.addresses = ListenPorts.take(size).stream().map(port -> KvCacheConfig.DEFAULT_HOST + ":" + port).toList();
    }

    /** Starts every member, each joining the ones before it; if one fails, stops those already up. */
    public TestCluster start() {
        try {
            for (int i = 0; i < addresses.size(); i++) {
                members.add(KvCacheMember.start(config(i)));
            }
            return this;
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Members that start from now on protect the pool with a quorum of {@code members}. */
    TestCluster withQuorum(int members) {
        this.quorum = members;
        return this;
    }

    KvCacheConfig config(int member) {
        String address = addresses.get(member);
        int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
        return new KvCacheConfig(KvCacheConfig.DEFAULT_HOST, port, addresses, null, budget, name, partitions,
                KvCacheConfig.DEFAULT_BACKUPS, quorum);
    }

    /** Waits (up to 30 s) until {@code member} sees {@code size} members. */
    static void awaitClusterSize(KvCacheMember member, int size) {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (member.clusterSize() != size) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError(member.address() + " sees " + member.clusterSize() + " members, not " + size);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError(e);
            }
        }
    }

    KvPool client(int pageTokens) {
        return HazelcastKvPool.connect(name, addresses, pageTokens);
    }

    @Override
    public void close() {
        for (KvCacheMember member : members) {
            member.terminate();
        }
    }
}
