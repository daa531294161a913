package io.moefleet.expert;

import java.util.Arrays;
import java.util.List;

/** Expert shards failed to answer (unreachable, too slow, or refusing the call); the message names each shard and its address. */
public final class ExpertShardException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final int[] failedShards;

    public ExpertShardException(String message, List<Integer> failedShards) {
        super(message);
        // a shard may fail several calls of one step (a step too large for one answer is split): name it once
        this.failedShards = failedShards.stream().mapToInt(Integer::intValue).distinct().sorted().toArray();
    }

    /** The indices of the shards that failed, ascending, each once. */
    public List<Integer> failedShards() {
        return Arrays.stream(failedShards).boxed().toList();
    }
}
