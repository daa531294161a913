package io.moefleet.kvcache;

import java.util.logging.Logger;

/**
 * A pool member as its own process:
 * {@code --port P --members host:port,... --memory-budget 512m [--cluster-name NAME] [--host IP]}. Logs go to stderr;
 * it runs until stopped, then leaves gracefully (its pages handed to the other members).
 */
public final class KvCacheMain {

    private static final Logger LOG = Logger.getLogger(KvCacheMain.class.getName());

    private KvCacheMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        KvCacheConfig config;
        try {
            config = KvCacheConfig.fromArgs(args);
        } catch (IllegalArgumentException e) {
            System.err.println("kv-cache: " + e.getMessage());
            System.exit(2);
            return;
        }
        // Ctrl-C or SIGTERM: hand this member's partitions over instead of dropping them
        System.setProperty("hazelcast.shutdownhook.policy", "GRACEFUL");
        long start = System.nanoTime();
        KvCacheMember member = KvCacheMember.start(config);
        LOG.info(() -> String.format("kv-cache member %s of cluster '%s' up in %d ms, %d member(s), budget %d MiB",
                member.address(), config.clusterName(), (System.nanoTime() - start) / 1_000_000,
                member.clusterSize(), config.memoryBudget().mebibytes()));
        member.awaitStop();
    }
}
