package io.moefleet.rpc;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ListenPortsTest {

    @Test
    void portsComeFromBelowLinuxsDefaultEphemeralRangeElseAboveIt() {
        assertEquals(new ListenPorts.Range(10_000, 32_767), ListenPorts.candidates(new ListenPorts.Range(32_768, 60_999)));
        assertEquals(new ListenPorts.Range(10_000, 49_151), ListenPorts.candidates(ListenPorts.IANA_EPHEMERAL));
        assertEquals(new ListenPorts.Range(61_000, 65_535), ListenPorts.candidates(new ListenPorts.Range(1_024, 60_999)));
        IllegalStateException full = assertThrows(IllegalStateException.class,
                () -> ListenPorts.candidates(new ListenPorts.Range(1_024, 65_000)));
        assertTrue(full.getMessage().contains("1024-65000"), full.getMessage());
    }

    @Test
    void portsAreDistinctOutsideThisMachinesEphemeralRangeAndBindable() throws IOException {
        ListenPorts.Range ephemeral = ListenPorts.ephemeral();
        ListenPorts.Range candidates = ListenPorts.candidates(ephemeral);
        Set<Integer> seen = new HashSet<>();
        for (int round = 0; round < 20; round++) {
            List<Integer> ports = round % 2 == 0 ? ListenPorts.take(3) : List.of(ListenPorts.take());
            for (int port : ports) {
                assertTrue(seen.add(port), "port " + port + " handed out twice");
                assertTrue(port >= candidates.first() && port <= candidates.last(), port + " outside " + candidates);
                assertFalse(port >= ephemeral.first() && port <= ephemeral.last(), port + " inside the ephemeral range");
            }
        }
        for (int port : seen) {
            try (ServerSocket listener = new ServerSocket()) {
                listener.setReuseAddress(false);
                listener.bind(new InetSocketAddress(port));   // throws if the port was not free after all
            }
        }
    }
}
