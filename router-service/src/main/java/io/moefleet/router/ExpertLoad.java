package io.moefleet.router;

import io.moefleet.model.forward.Routing;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Tokens the router has sent to each routed expert of each MoE layer since it started: what the fleet controller
 * balances the placement on. Written by the stepping thread at each dispatch, read by the API's workers.
 */
public final class ExpertLoad {

    private final AtomicLongArray[] tokens;   // [layer] -> per expert; null for dense layers

    public ExpertLoad(int layers, int routedExperts, java.util.function.IntPredicate moeLayer) {
        tokens = new AtomicLongArray[layers];
        for (int layer = 0; layer < layers; layer++) {
            if (moeLayer.test(layer)) {
                tokens[layer] = new AtomicLongArray(routedExperts);
            }
        }
    }

    /** Counts one layer's routing of {@code n} tokens: each token once for each expert it chose. */
    public void record(int layer, Routing[] routings, int n) {
        AtomicLongArray counts = tokens[layer];
        for (int t = 0; t < n; t++) {
            for (int expert : routings[t].experts()) {
                counts.incrementAndGet(expert);
            }
        }
    }

    /** The counts so far, per MoE layer. */
    public SortedMap<Integer, long[]> snapshot() {
        SortedMap<Integer, long[]> snapshot = new TreeMap<>();
        for (int layer = 0; layer < tokens.length; layer++) {
            if (tokens[layer] != null) {
                long[] counts = new long[tokens[layer].length()];
                for (int e = 0; e < counts.length; e++) {
                    counts[e] = tokens[layer].get(e);
                }
                snapshot.put(layer, counts);
            }
        }
        return snapshot;
    }
}
