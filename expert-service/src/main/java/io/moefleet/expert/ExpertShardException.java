package io.moefleet.expert;

import java.util.Arrays;
import java.util.List;

/** Expert shards failed to answer (unreachable, too slow, or refusing the call); the message names each shard and its address. */
public final class ExpertShardException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int[] failedShards;

    public ExpertShardException(String message, List<Integer> failedShards) {
        super(message);
        this.failedShards = failedShards.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The indices of the shards that failed, ascending. */
    public List<Integer> failedShards() {
        return Arrays.stream(failedShards).boxed().toList();
    }
}
