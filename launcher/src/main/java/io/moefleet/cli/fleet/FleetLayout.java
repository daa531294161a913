package io.moefleet.cli.fleet;

import io.moefleet.expert.ExpertPlacement;
import java.nio.file.Path;

/**
 * What a fleet run starts: the expert shards of {@code placement}, {@code attentionInstances} attention instances and
 * {@code kvMembers} KV pool members, each service computing on {@code serviceThreads} threads; the attention instances
 * publish and restore KV pages of {@code kvPageTokens} tokens.
 */
public record FleetLayout(Path model, ExpertPlacement placement, int attentionInstances, int kvMembers, int serviceThreads,
        int kvPageTokens) {

    public FleetLayout {
        if (attentionInstances < 1 || kvMembers < 1 || serviceThreads < 1) {
            throw new IllegalArgumentException("a fleet needs at least one attention instance, one KV member and one thread "
                    + "per service");
        }
        if (kvPageTokens < 1) {
            throw new IllegalArgumentException("a KV page holds at least one token, not " + kvPageTokens);
        }
    }

    /** Threads per service when not given: the machine's cores shared by the computing services, at least one each. */
    public static int defaultServiceThreads(ExpertPlacement placement, int attentionInstances) {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / (placement.shards() + attentionInstances));
    }
}
