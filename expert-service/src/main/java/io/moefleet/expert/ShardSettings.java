package io.moefleet.expert;

import java.nio.file.Path;

/**
 * What one expert shard serves and where: the checkpoint, the placement and the shard's index in it, its port and compute
 * threads, and the placement file when the placement came from one ({@code --placement FILE}; null otherwise). A shard
 * given a file follows it and the {@link Rollout} beside it while it runs, and may have an index beyond the file's
 * shards: a shard added while scaling up, which holds what the rollout gives it (possibly nothing yet).
 */
public record ShardSettings(Path model, ExpertPlacement placement, int shard, int port, int threads, Path placementFile) {

    public ShardSettings {
        if (shard < 0) {
            throw new IllegalArgumentException("shard index cannot be negative, got " + shard);
        }
        if (placementFile == null && shard >= placement.shards()) {
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

    /** A shard of a fixed placement (the even rule, or one made in code): it holds its part for its whole life. */
    public ShardSettings(Path model, ExpertPlacement placement, int shard, int port, int threads) {
        this(model, placement, shard, port, threads, null);
    }
}
