package io.moefleet.rpc;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Ports that a service started later (another process, a Hazelcast member) can listen on: free now, outside the
 * kernel's ephemeral range, and never the same twice in this JVM.
 *
 * <p>Why not a port the kernel picks (bind to 0, close, hand it on): that port comes from the ephemeral range, where
 * every outbound connection also gets its local port. Between the probe and the service's bind, any connection opened
 * on the machine (a Hazelcast client, a gRPC channel, a health probe) may take it, and the service dies with "Failed to
 * bind". A port below the range is only ever taken by an explicit bind.
 */
public final class ListenPorts {

    /** Below this, ports are the well-known and registered services' (databases, dev servers): left to them. */
    static final int LOWEST = 10_000;
    /** The ephemeral range where the kernel's is not readable: IANA's (macOS and Windows use it). */
    static final Range IANA_EPHEMERAL = new Range(49_152, 65_535);
    private static final Path LINUX_EPHEMERAL = Path.of("/proc/sys/net/ipv4/ip_local_port_range");
    private static final int MAX_PROBES = 1_000;

    private static final Set<Integer> handedOut = new HashSet<>();   // guarded by the class

    /** Ports {@code first} to {@code last}, both included. */
    record Range(int first, int last) {
        int size() {
            return last - first + 1;
        }
    }

    private ListenPorts() {
    }

    /** One port, free on every address now, that this JVM has not handed out before. */
    public static int take() {
        return take(1).getFirst();
    }

    /** {@code count} distinct ports, each free on every address now, none handed out before by this JVM. */
    public static synchronized List<Integer> take(int count) {
        Range candidates = candidates(ephemeral());
        List<Integer> ports = new ArrayList<>(count);
        int next = candidates.first() + ThreadLocalRandom.current().nextInt(candidates.size());
        for (int probes = 0; ports.size() < count; probes++) {
            if (probes == MAX_PROBES) {
                throw new IllegalStateException("no free port among " + MAX_PROBES + " probed in " + candidates.first() + "-"
                        + candidates.last() + " (outside the ephemeral range, so that no outbound connection takes it)");
            }
            int port = next;
            next = port == candidates.last() ? candidates.first() : port + 1;
            if (!handedOut.contains(port) && isFree(port)) {
                handedOut.add(port);
                ports.add(port);
            }
        }
        return List.copyOf(ports);
    }

    /** The ports to pick from: those between {@link #LOWEST} and the ephemeral range, else those above it. */
    static Range candidates(Range ephemeral) {
        if (ephemeral.first() - LOWEST >= 1_000) {
            return new Range(LOWEST, ephemeral.first() - 1);
        }
        if (65_535 - ephemeral.last() >= 1_000) {
            return new Range(ephemeral.last() + 1, 65_535);
        }
        throw new IllegalStateException("the ephemeral port range " + ephemeral.first() + "-" + ephemeral.last()
                + " leaves no room for listening ports; narrow it (" + LINUX_EPHEMERAL + ")");
    }

    /** This machine's ephemeral range: Linux's setting, else IANA's. */
    static Range ephemeral() {
        try {
            String[] bounds = Files.readString(LINUX_EPHEMERAL).trim().split("\\s+");
            return new Range(Integer.parseInt(bounds[0]), Integer.parseInt(bounds[1]));
        } catch (IOException | RuntimeException notLinux) {
            return IANA_EPHEMERAL;
        }
    }

    /**
     * Whether a listener can bind {@code port} on every address, as a service does, without SO_REUSEADDR: so that a
     * connection still in TIME_WAIT on it counts as taken.
     */
    private static boolean isFree(int port) {
        try (ServerSocket socket = new ServerSocket()) {
            socket.setReuseAddress(false);
            socket.bind(new InetSocketAddress(port), 1);
            return true;
        } catch (IOException taken) {
            return false;
        }
    }
}
