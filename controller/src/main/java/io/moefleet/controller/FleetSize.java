package io.moefleet.controller;

/**
 * How many pods of each scaled kind a fleet runs: what the controller decides and writes into the workloads' replicas.
 */
public record FleetSize(int shards, int attentionInstances) {

    public FleetSize {
        if (shards < 1 || attentionInstances < 1) {
            throw new IllegalArgumentException("a fleet needs at least one expert shard and one attention instance, got "
                    + shards + " and " + attentionInstances);
        }
    }

    public FleetSize withShards(int count) {
        return new FleetSize(count, attentionInstances);
    }

    public FleetSize withAttentionInstances(int count) {
        return new FleetSize(shards, count);
    }
}
