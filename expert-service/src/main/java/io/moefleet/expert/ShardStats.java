package io.moefleet.expert;

import java.util.List;

/** What one shard reports it has served: Forward calls, token rows, and token rows per (layer, expert) it holds. */
public record ShardStats(int shard, String address, long calls, long tokens, List<ExpertTokens> experts) {

    /** Token rows one held expert of one layer was applied to (zero when it was never chosen). */
    public record ExpertTokens(int layer, int expert, long tokens) {}
}
