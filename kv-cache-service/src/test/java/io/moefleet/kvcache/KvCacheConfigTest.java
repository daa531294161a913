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
}
