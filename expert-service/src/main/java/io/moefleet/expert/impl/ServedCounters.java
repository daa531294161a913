package io.moefleet.expert.impl;

import io.moefleet.model.weights.ModelWeights;
import io.moefleet.proto.expert.ExpertTokens;
import io.moefleet.proto.expert.StatsResponse;
import io.moefleet.proto.expert.TokenExperts;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/** What a shard has served: Forward calls, token rows, and token rows per (layer, expert); what Stats reports. */
public final class ServedCounters {

    private final AtomicLong calls = new AtomicLong();
    private final AtomicLong tokens = new AtomicLong();
    private final int routedExperts;
    private final AtomicLongArray expertTokens;   // [layer * routedExperts + expert]

    public ServedCounters(int layers, int routedExperts) {
        this.routedExperts = routedExperts;
        this.expertTokens = new AtomicLongArray(layers * routedExperts);
    }

    /** Counts one answered Forward call. */
    public void record(int layer, List<TokenExperts> tokenExperts) {
        calls.incrementAndGet();
        tokens.addAndGet(tokenExperts.size());
        for (TokenExperts token : tokenExperts) {
            for (int i = 0; i < token.getExpertsCount(); i++) {
                expertTokens.incrementAndGet(layer * routedExperts + token.getExperts(i));
            }
        }
    }

    /**
     * The counters, with an entry for every expert {@code shard} holds, served or not. Counters are never reset: an
     * expert that stays held across a change of the held set keeps its count.
     */
    public StatsResponse snapshot(int shard, ModelWeights.ExpertSelection held) {
        StatsResponse.Builder stats = StatsResponse.newBuilder().setShard(shard).setCalls(calls.get()).setTokens(tokens.get());
        for (int i = 0; i < expertTokens.length(); i++) {
            int layer = i / routedExperts;
            int expert = i % routedExperts;
            if (held.holds(layer, expert)) {
                stats.addExperts(ExpertTokens.newBuilder().setLayer(layer).setExpert(expert).setTokens(expertTokens.get(i)));
            }
        }
        return stats.build();
    }
}
