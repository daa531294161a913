package io.moefleet.kvcache;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class KvCacheConfigTest {

    @Test
    void readsTheCommandLine() {
        KvCacheConfig config = KvCacheConfig.fromArgs("--port", "5801", "--members", "127.0.0.1:5801, 127.0.0.1:5802",
                "--memory-budget", "512m", "--cluster-name", "fleet-a");
        assertEquals(5801, config.port());
        assertEquals(List.of("127.0.0.1:5801", "127.0.0.1:5802"), config.members());
        assertEquals(512, config.memoryBudget().mebibytes());
        assertEquals("fleet-a", config.clusterName());
        assertEquals("127.0.0.1:5801", config.address());
    }

    @Test
    void budgetsInBinaryUnits() {
        assertEquals(2L << 30, MemoryBudget.parse("2g").bytes());
        assertEquals(1, MemoryBudget.parse("1024k").mebibytes());
        assertEquals(3, MemoryBudget.parse(Long.toString(3L << 20)).mebibytes());
        assertThrows(IllegalArgumentException.class, () -> MemoryBudget.parse("512"));
        assertThrows(IllegalArgumentException.class, () -> MemoryBudget.parse("lots"));
    }

    @Test
    void portRangesAndMissingFlagsAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> KvCacheConfig.fromArgs("--port", "5801", "--members",
                "127.0.0.1:5801-5810", "--memory-budget", "64m"));
        assertThrows(IllegalArgumentException.class, () -> KvCacheConfig.fromArgs("--port", "5801"));
        assertThrows(IllegalArgumentException.class, () -> KvCacheConfig.fromArgs("--port"));
    }

    @Test
    void membersFindEachOtherThroughKubernetesInsteadOfAList() {
        KvCacheConfig config = KvCacheConfig.fromArgs("--host", "10.1.2.3", "--port", "5701", "--memory-budget", "2g",
                "--kubernetes-dns", "moefleet-kv.moefleet.svc.cluster.local");
        assertEquals(List.of(), config.members());
        assertEquals("moefleet-kv.moefleet.svc.cluster.local", config.kubernetesDns());
        var join = io.moefleet.kvcache.impl.MemberConfigs.of(config).getNetworkConfig().getJoin();
        assertEquals(true, join.getKubernetesConfig().isEnabled());
        assertEquals("moefleet-kv.moefleet.svc.cluster.local", join.getKubernetesConfig().getProperty("service-dns"));
        assertEquals(false, join.getTcpIpConfig().isEnabled());

        IllegalArgumentException both = assertThrows(IllegalArgumentException.class, () -> KvCacheConfig.fromArgs("--port", "5701",
                "--memory-budget", "2g", "--members", "10.0.0.1:5701", "--kubernetes-dns", "moefleet-kv"));
        org.junit.jupiter.api.Assertions.assertTrue(both.getMessage().contains("not both"), both.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KvCacheConfig.fromArgs("--port", "5701", "--memory-budget", "2g"));
        IllegalArgumentException port = assertThrows(IllegalArgumentException.class, () -> KvCacheConfig.fromArgs("--port",
                "$(POD_PORT)", "--memory-budget", "2g", "--kubernetes-dns", "moefleet-kv"));
        assertEquals("--port expects a whole number, got '$(POD_PORT)'", port.getMessage());
    }

    @Test
    void backupsAndAQuorumGoIntoTheMembersConfiguration() {
        KvCacheConfig config = KvCacheConfig.fromArgs("--port", "5701", "--memory-budget", "2g", "--kubernetes-dns", "moefleet-kv",
                "--backups", "2", "--quorum", "2");
        var hazelcast = io.moefleet.kvcache.impl.MemberConfigs.of(config);
        var pages = hazelcast.getMapConfig(io.moefleet.kvcache.impl.IMapKvPool.MAP_NAME);
        assertEquals(2, pages.getBackupCount());
        assertEquals("kv-quorum", pages.getSplitBrainProtectionName());
        assertEquals(2, hazelcast.getSplitBrainProtectionConfig("kv-quorum").getMinimumClusterSize());
        var defaults = io.moefleet.kvcache.impl.MemberConfigs.of(KvCacheConfig.fromArgs("--port", "5701", "--memory-budget", "2g",
                "--members", "127.0.0.1:5701")).getMapConfig(io.moefleet.kvcache.impl.IMapKvPool.MAP_NAME);
        assertEquals(1, defaults.getBackupCount(), "one backup by default");
        assertEquals(null, defaults.getSplitBrainProtectionName(), "no quorum by default");
        assertThrows(IllegalArgumentException.class, () -> KvCacheConfig.fromArgs("--port", "5701", "--memory-budget", "2g",
                "--members", "127.0.0.1:5701", "--quorum", "1"));
    }
}
