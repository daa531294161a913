package io.moefleet.expert;

import io.moefleet.model.ModelConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The placement as given on a command line: {@code --expert-shards N} or {@code --experts-per-shard K} (with
 * {@code --replicas R}, default 1), or {@code --placement FILE}. Null means the flag was not given.
 */
public record PlacementFlags(Integer expertShards, Integer expertsPerShard, Integer replicas, Path file) {

    /** The placement these flags describe for {@code config}'s routed experts, checked against the model. */
    public ExpertPlacement resolve(ModelConfig config) {
        List<String> given = new ArrayList<>();
        if (expertShards != null) {
            given.add("--expert-shards");
        }
        if (expertsPerShard != null) {
            given.add("--experts-per-shard");
        }
        if (file != null) {
            given.add("--placement");
        }
        if (given.size() != 1) {
            throw new IllegalArgumentException("give exactly one of --expert-shards N, --experts-per-shard K or --placement FILE"
                    + (given.isEmpty() ? "" : " (got " + String.join(", ", given) + ")"));
        }
        if (file != null && replicas != null) {
            throw new IllegalArgumentException("--replicas goes with --expert-shards or --experts-per-shard; "
                    + "a placement file lists each expert's shards itself");
        }
        int r = replicas == null ? 1 : replicas;
        ExpertPlacement placement;
        if (file != null) {
            placement = ExpertPlacement.read(file);
        } else if (expertShards != null) {
            placement = ExpertPlacement.spread(config.nRoutedExperts(), expertShards, r);
        } else {
            placement = ExpertPlacement.withExpertsPerShard(config.nRoutedExperts(), expertsPerShard, r);
        }
        try {
            placement.checkAgainst(config);
        } catch (IllegalArgumentException e) {
            throw file == null ? e : new IllegalArgumentException("placement file " + file + ": " + e.getMessage(), e);
        }
        return placement;
    }
}
