package io.moefleet.attention;

import java.nio.file.Path;

/** What one attention instance serves and where: the checkpoint, its port and compute threads. */
public record InstanceSettings(Path model, int port, int threads) {

    public InstanceSettings {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is outside [0, 65535] (0: any free port)");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
    }
}
