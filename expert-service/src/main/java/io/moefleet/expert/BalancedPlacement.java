package io.moefleet.expert;

import io.moefleet.expert.impl.LoadBalancedLayout;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * Expert placement balanced on measured load, as DeepSeek's EPLB (global policy) does it, one layout per MoE layer:
 * <ol>
 *   <li>redundancy: the {@code shards·slotsPerShard − routedExperts} spare slots go one by one to a further replica of
 *       the expert whose replicas carry the most ({@code load / replicas}; ties: the lower index); an expert has at most
 *       one replica per shard, so when every expert has one on every shard the remaining slots stay empty;</li>
 *   <li>packing: replicas, heaviest first, each to the least-loaded shard that has a free slot and does not hold that
 *       expert yet (ties: fewer experts held, then the lower index).</li>
 * </ol>
 * Deterministic, each shard's experts ascending. The plan and {@link #balance} assume the router splits an expert's
 * tokens evenly over its replicas; making the router do so is the router's part, not this class's.
 */
public final class BalancedPlacement {

    private BalancedPlacement() {}

    /**
     * A layout per MoE layer balanced on {@code load}: {@code load.get(layer)[expert]} is the tokens the router sent to
     * that expert in that layer (only MoE layers are keys). The placement's common {@code shards} list is the first
     * layer's layout; every layer is also listed under {@code layers}.
     *
     * @throws IllegalArgumentException when the slots cannot hold every expert (naming the shortfall), or a layer's
     *     load does not have one non-negative count per expert
     */
    public static ExpertPlacement plan(int routedExperts, int shards, int slotsPerShard, SortedMap<Integer, long[]> load) {
        checkSlots(routedExperts, shards, slotsPerShard);
        if (load.isEmpty()) {
            throw new IllegalArgumentException("no layer's load to balance: give the load of at least one MoE layer");
        }
        SortedMap<Integer, List<List<Integer>>> layers = new TreeMap<>();
        for (Map.Entry<Integer, long[]> layer : load.entrySet()) {
            checkLoad(layer.getKey(), layer.getValue(), routedExperts);
            layers.put(layer.getKey(), LoadBalancedLayout.of(layer.getValue(), shards, slotsPerShard));
        }
        return ExpertPlacement.of(routedExperts, layers.get(layers.firstKey()), layers);
    }

    /**
     * The plan before any load is measured, one layout for every layer: all experts equally loaded, so the spare slots
     * go to replicas of the lowest-indexed experts and every shard carries the same load give or take one replica.
     */
    public static ExpertPlacement uniform(int routedExperts, int shards, int slotsPerShard) {
        checkSlots(routedExperts, shards, slotsPerShard);
        long[] even = new long[routedExperts];
        Arrays.fill(even, 1);
        return ExpertPlacement.of(routedExperts, LoadBalancedLayout.of(even, shards, slotsPerShard), new TreeMap<>());
    }

    /**
     * Per layer of {@code load}, the most-loaded shard of {@code placement} beside the ideal (the layer's tokens over the
     * shards), with each expert's tokens split evenly over its replicas in that layer.
     */
    public static SortedMap<Integer, LayerBalance> balance(ExpertPlacement placement, SortedMap<Integer, long[]> load) {
        SortedMap<Integer, LayerBalance> balance = new TreeMap<>();
        load.forEach((layer, tokens) -> {
            checkLoad(layer, tokens, placement.routedExperts());
            double[] shardLoad = new double[placement.shards()];
            double total = 0;
            for (int e = 0; e < tokens.length; e++) {
                total += tokens[e];
                int replicas = placement.replicas(layer, e);
                for (int r = 0; r < replicas; r++) {
                    shardLoad[placement.shardOf(layer, e, r)] += (double) tokens[e] / replicas;
                }
            }
            balance.put(layer, new LayerBalance(Arrays.stream(shardLoad).max().orElse(0), total / placement.shards()));
        });
        return balance;
    }

    /** One layer's most-loaded shard (tokens) and the ideal, every shard carrying the same share. */
    public record LayerBalance(double mostLoadedShard, double ideal) {

        /** Most-loaded over ideal: 1 is perfect balance; 1 for a layer with no tokens. */
        public double ratio() {
            return ideal == 0 ? 1 : mostLoadedShard / ideal;
        }
    }

    private static void checkSlots(int routedExperts, int shards, int slotsPerShard) {
        if (routedExperts < 1) {
            throw new IllegalArgumentException("the model has no routed experts to place");
        }
        if (shards < 1 || slotsPerShard < 1) {
            throw new IllegalArgumentException("shards and slots per shard must be at least 1, got " + shards + " shard(s) with "
                    + slotsPerShard + " slot(s)");
        }
        long slots = (long) shards * slotsPerShard;
        if (slots < routedExperts) {
            throw new IllegalArgumentException(shards + " shards x " + slotsPerShard + " slots = " + slots
                    + " slots cannot hold the " + routedExperts + " routed experts: short by " + (routedExperts - slots) + " slots");
        }
    }

    private static void checkLoad(int layer, long[] load, int routedExperts) {
        if (load.length != routedExperts) {
            throw new IllegalArgumentException("layer " + layer + ": the load lists " + load.length + " experts, the model has "
                    + routedExperts + " routed experts");
        }
        for (int e = 0; e < load.length; e++) {
            if (load[e] < 0) {
                throw new IllegalArgumentException("layer " + layer + ": the load of expert " + e + " is negative (" + load[e]
                        + "); loads count tokens");
            }
        }
    }
}
