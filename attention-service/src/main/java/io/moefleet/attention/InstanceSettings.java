package io.moefleet.attention;

import java.nio.file.Path;

/**
 * What one attention instance serves and where: the checkpoint, its port and compute threads, and the KV pool it
 * publishes to and restores from ({@code kvPool} null: none; the instance keeps its sequences' caches only).
 */
public record InstanceSettings(Path model, int port, int threads, KvPoolSettings kvPool) {

    public InstanceSettings {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is outside [0, 65535] (0: any free port)");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
    }

    /** An instance without a KV pool. */
    public InstanceSettings(Path model, int port, int threads) {
        this(model, port, threads, null);
    }
}
