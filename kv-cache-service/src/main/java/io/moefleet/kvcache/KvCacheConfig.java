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
 * @param backups      synchronous backups of each page on other members (1: losing any one member loses no page)
 * @param quorum       split-brain protection: the pool takes pages only while at least this many members see each
 *                     other (0: none; a majority of the members for pools of three or more, so that the two halves of
 *                     a split never both take writes)
 */
public record KvCacheConfig(String host, int port, List<String> members, String kubernetesDns, MemoryBudget memoryBudget,
                            String clusterName, int partitions, int backups, int quorum) {

    public static final int DEFAULT_BACKUPS = 1;

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
        if (backups < 0 || backups > 6) {
            throw new IllegalArgumentException("--backups is 0 to 6 (Hazelcast's limit), not " + backups);
        }
        if (quorum < 0 || quorum == 1) {
            throw new IllegalArgumentException("--quorum is 0 (none) or at least 2 members, not " + quorum);
        }
        if (members.isEmpty() == (kubernetesDns == null)) {
            throw new IllegalArgumentException("give the members either as a list (--members host:port,...) or through "
                    + "Kubernetes (--kubernetes-dns SERVICE), not both and not neither");
        }
    }

    /** A member of a pool whose members are listed, one backup, no quorum. */
    public KvCacheConfig(String host, int port, List<String> members, MemoryBudget memoryBudget, String clusterName,
            int partitions) {
        this(host, port, members, null, memoryBudget, clusterName, partitions, DEFAULT_BACKUPS, 0);
    }

    /**
     * {@code --port P (--members host:port,... | --kubernetes-dns SERVICE) --memory-budget 512m [--cluster-name NAME]
     * [--host IP] [--partitions N] [--backups N] [--quorum N]}.
     */
    public static KvCacheConfig fromArgs(String... args) {
        String host = DEFAULT_HOST;
        String clusterName = DEFAULT_CLUSTER_NAME;
        int partitions = DEFAULT_PARTITIONS;
        Integer port = null;
        List<String> members = List.of();
        String kubernetesDns = null;
        MemoryBudget budget = null;
        int backups = DEFAULT_BACKUPS;
        int quorum = 0;
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
                case "--backups" -> backups = wholeNumber(flag, value);
                case "--quorum" -> quorum = wholeNumber(flag, value);
                default -> throw new IllegalArgumentException("unknown flag " + flag + "; usage: --port P"
                        + " (--members host:port,... | --kubernetes-dns SERVICE) --memory-budget SIZE [--cluster-name NAME]"
                        + " [--host IP] [--partitions N] [--backups N] [--quorum N]");
            }
        }
        if (port == null || budget == null) {
            throw new IllegalArgumentException("--port and --memory-budget are required");
        }
        return new KvCacheConfig(host, port, members, kubernetesDns, budget, clusterName, partitions, backups, quorum);
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
