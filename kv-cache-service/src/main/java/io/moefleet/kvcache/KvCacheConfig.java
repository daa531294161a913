package io.moefleet.kvcache;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One pool member's settings.
 *
 * @param host         the IP address it binds and announces (loopback for a fleet on one machine)
 * @param port         its port (no auto-increment: a busy port is an error)
 * @param members      every member's {@code host:port}, each port written out (5.7.0 rejects port ranges); empty when
 *                     the members find each other through Kubernetes
 * @param kubernetesDns on Kubernetes, the DNS name of the pool's headless service, whose records are the members'
 *                     pods (Hazelcast's own Kubernetes discovery, DNS lookup mode: it needs no API access); else null
 * @param memoryBudget the heap its pages (owned and backups) may take before it evicts
 * @param clusterName  pools with different names never join
 * @param partitions   Hazelcast partitions, the same on every member: few, so that each holds many pages (eviction
 *                     picks its victim within the partition being written, see the module README)
 */
public record KvCacheConfig(String host, int port, List<String> members, String kubernetesDns, MemoryBudget memoryBudget,
                            String clusterName, int partitions) {

    public static final String DEFAULT_HOST = "127.0.0.1";
    public static final String DEFAULT_CLUSTER_NAME = "moefleet-kv";
    public static final int DEFAULT_PARTITIONS = 31;

    public KvCacheConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(memoryBudget, "memoryBudget");
        Objects.requireNonNull(clusterName, "clusterName");
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("port must be in 1..65535, not " + port);
        }
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be at least 1, not " + partitions);
        }
        members = List.copyOf(members);
        for (String member : members) {
            checkMember(member);
        }
        if (members.isEmpty() == (kubernetesDns == null)) {
            throw new IllegalArgumentException("give the members either as a list (--members host:port,...) or through "
                    + "Kubernetes (--kubernetes-dns SERVICE), not both and not neither");
        }
    }

    /** A member of a pool whose members are listed. */
    public KvCacheConfig(String host, int port, List<String> members, MemoryBudget memoryBudget, String clusterName,
            int partitions) {
        this(host, port, members, null, memoryBudget, clusterName, partitions);
    }

    /**
     * {@code --port P (--members host:port,... | --kubernetes-dns SERVICE) --memory-budget 512m [--cluster-name NAME]
     * [--host IP] [--partitions N]}.
     */
    public static KvCacheConfig fromArgs(String... args) {
        String host = DEFAULT_HOST;
        String clusterName = DEFAULT_CLUSTER_NAME;
        int partitions = DEFAULT_PARTITIONS;
        Integer port = null;
        List<String> members = List.of();
        String kubernetesDns = null;
        MemoryBudget budget = null;
        for (int i = 0; i < args.length; i += 2) {
            String flag = args[i];
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException(flag + " needs a value");
            }
            String value = args[i + 1];
            switch (flag) {
                case "--host" -> host = value;
                case "--port" -> port = wholeNumber(flag, value);
                case "--members" -> members = Arrays.stream(value.split(",")).map(String::trim)
                        .filter(m -> !m.isEmpty()).toList();
                case "--kubernetes-dns" -> kubernetesDns = value;
                case "--memory-budget" -> budget = MemoryBudget.parse(value);
                case "--cluster-name" -> clusterName = value;
                case "--partitions" -> partitions = wholeNumber(flag, value);
                default -> throw new IllegalArgumentException("unknown flag " + flag + "; usage: --port P"
                        + " (--members host:port,... | --kubernetes-dns SERVICE) --memory-budget SIZE [--cluster-name NAME]"
                        + " [--host IP] [--partitions N]");
            }
        }
        if (port == null || budget == null) {
            throw new IllegalArgumentException("--port and --memory-budget are required");
        }
        return new KvCacheConfig(host, port, members, kubernetesDns, budget, clusterName, partitions);
    }

    private static int wholeNumber(String flag, String value) {
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " expects a whole number, got '" + value + "'");
        }
    }

    /** This member's own {@code host:port}. */
    public String address() {
        return host + ":" + port;
    }

    private static void checkMember(String member) {
        int colon = member.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("a member is host:port, not '" + member + "'");
        }
        try {
            Integer.parseInt(member.substring(colon + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("a member is host:port with one port (no ranges), not '" + member
                    + "'", e);
        }
    }
}
