package io.moefleet.expert;

import java.nio.file.Path;

/** What one expert shard serves and where: the checkpoint, the placement and the shard's index in it, its port and compute threads. */
public record ShardSettings(Path model, ExpertPlacement placement, int shard, int port, int threads) {

    public ShardSettings {
        if (shard < 0 || shard >= placement.shards()) {
            throw new IllegalArgumentException("shard " + shard + " is outside the placement's " + placement.shards()
                    + " shards [0, " + placement.shards() + ")");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("port " + port + " is outside [0, 65535] (0: any free port)");
        }
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        }
    }
}
