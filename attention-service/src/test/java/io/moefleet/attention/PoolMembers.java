package io.moefleet.attention;

import io.moefleet.kvcache.KvCacheConfig;
import io.moefleet.kvcache.KvCacheMember;
import io.moefleet.kvcache.MemoryBudget;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/** KV pool members in this JVM, on loopback ports of their own, in a cluster of their own; closing terminates those still up. */
final class PoolMembers implements AutoCloseable {

    final String clusterName = "attention-kv-test-" + UUID.randomUUID();
    final List<String> addresses;
    final List<KvCacheMember> members = new ArrayList<>();

    private PoolMembers(int size) {
        this.addresses = freePorts(size).stream().map(port -> KvCacheConfig.DEFAULT_HOST + ":" + port).toList();
    }

    /** {@code size} members, each joining the ones before it, 64 MiB each. */
    static PoolMembers start(int size) {
        PoolMembers pool = new PoolMembers(size);
        try {
            for (String address : pool.addresses) {
                int port = Integer.parseInt(address.substring(address.lastIndexOf(':') + 1));
                pool.members.add(KvCacheMember.start(new KvCacheConfig(KvCacheConfig.DEFAULT_HOST, port, pool.addresses,
                        MemoryBudget.parse("64m"), pool.clusterName, KvCacheConfig.DEFAULT_PARTITIONS)));
            }
            return pool;
        } catch (RuntimeException e) {
            pool.close();
            throw e;
        }
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
        for (KvCacheMember member : members) {
            member.terminate();
        }
    }

    /** Distinct ports free on loopback now, all probed at once so that no two are the same. */
    static List<Integer> freePorts(int count) {
        List<ServerSocket> sockets = new ArrayList<>();
        try {
            for (int i = 0; i < count; i++) {
                sockets.add(new ServerSocket(0, 1, InetAddress.getLoopbackAddress()));
            }
            return sockets.stream().map(ServerSocket::getLocalPort).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            for (ServerSocket socket : sockets) {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // free again either way
                }
            }
        }
    }
}
