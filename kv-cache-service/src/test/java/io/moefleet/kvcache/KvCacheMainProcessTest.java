package io.moefleet.kvcache;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KvCacheMainProcessTest {

    @Test
    void aMemberInItsOwnProcessJoinsAndServesPages() throws Exception {
        Path log = Files.createTempFile(Path.of("target"), "kv-member-", ".log");
        try (TestCluster cluster = new TestCluster(2, MemoryBudget.parse("64m"))) {
            cluster.members.add(KvCacheMember.start(cluster.config(0)));
            KvCacheConfig remote = cluster.config(1);
            Process process = new ProcessBuilder(command(remote)).redirectErrorStream(true)
                    .redirectOutput(log.toFile()).start();
            try {
                KvCacheMember local = cluster.members.get(0);
                TestCluster.awaitClusterSize(local, 2);
                int pages = 16;
                int[] tokens = Pages.tokens(pages * Pages.TOKENS, 40);
                List<PageKey> keys = PageKeys.of(Pages.MODEL, tokens, Pages.TOKENS);
                try (KvPool pool = local.pool(Pages.TOKENS)) {
                    for (int i = 0; i < pages; i++) {
                        pool.publish(keys.get(i), Pages.random(i, 40 + i));
                    }
                }
                // only the process is left: what it serves now, it holds
                local.terminate();
                try (KvPool pool = HazelcastKvPool.connect(cluster.name, List.of(remote.address()), Pages.TOKENS)) {
                    assertEquals(pages, pool.longestCachedPrefix(Pages.MODEL, tokens));
                    for (int i = 0; i < pages; i++) {
                        assertEquals(Pages.random(i, 40 + i).latentBytes(),
                                pool.get(keys.get(i)).orElseThrow().latentBytes());
                    }
                }
            } finally {
                process.destroy(); // SIGTERM: the member's graceful shutdown hook
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
                System.err.println("--- member process log (" + log + ") ---\n" + tail(log));
            }
        }
    }

    private static List<String> command(KvCacheConfig config) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(Arrays.asList(System.getProperty("kvcache.jvm.flags").trim().split("\\s+")));
        command.addAll(List.of("-Xmx256m", "-cp", System.getProperty("java.class.path"),
                "-Djava.util.logging.SimpleFormatter.format=%4$s %3$s: %5$s%6$s%n",
                KvCacheMain.class.getName(), "--port", Integer.toString(config.port()),
                "--members", String.join(",", config.members()), "--memory-budget", "64m",
                "--cluster-name", config.clusterName(), "--partitions", Integer.toString(config.partitions())));
        return command;
    }

    private static String tail(Path log) throws java.io.IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    }
}
