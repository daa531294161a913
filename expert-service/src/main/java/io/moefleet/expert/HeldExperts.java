package io.moefleet.expert;

import java.util.Arrays;
import java.util.BitSet;
import java.util.Map;
import java.util.Objects;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The routed experts one shard holds, per MoE layer: one set for every layer, and for the layers a placement gives a
 * layout of their own, theirs. Equal when every layer holds the same experts (so a shard can tell that a changed
 * folder changes nothing for it).
 */
public final class HeldExperts {

    /** Nothing in any layer. */
    public static final HeldExperts NONE = new HeldExperts(new BitSet(), new TreeMap<>());

    private final BitSet common;
    private final SortedMap<Integer, BitSet> layers;   // only layers whose set differs from common

    private HeldExperts(BitSet common, SortedMap<Integer, BitSet> layers) {
        this.common = common;
        this.layers = layers;
        layers.values().removeIf(common::equals);
    }

    /**
     * What {@code shard} holds: what {@code current} gives it, plus, while {@code rollout} gives it extras, what the
     * rollout's {@code also_hold} gives it; in every layer, per layer where either placement has a layout of its own.
     * A shard beyond a placement's shards gets nothing from it.
     */
    public static HeldExperts of(ExpertPlacement current, Rollout rollout, int shard) {
        if (shard < 0) {
            throw new IllegalArgumentException("shard index cannot be negative, got " + shard);
        }
        ExpertPlacement extra = rollout.givesExtrasTo(shard) ? rollout.alsoHold().orElseThrow() : null;
        if (extra != null && extra.routedExperts() != current.routedExperts()) {
            throw new IllegalArgumentException("the rollout's also_hold is for " + extra.routedExperts()
                    + " routed experts but the placement for " + current.routedExperts());
        }
        BitSet common = new BitSet();
        add(common, current, shard, -1);
        add(common, extra, shard, -1);
        TreeSet<Integer> ownLayout = new TreeSet<>(current.layersWithOwnLayout());
        if (extra != null) {
            ownLayout.addAll(extra.layersWithOwnLayout());
        }
        SortedMap<Integer, BitSet> layers = new TreeMap<>();
        for (int layer : ownLayout) {
            BitSet held = new BitSet();
            add(held, current, shard, layer);
            add(held, extra, shard, layer);
            layers.put(layer, held);
        }
        return new HeldExperts(common, layers);
    }

    /** Adds what {@code placement} gives {@code shard} in {@code layer} ({@code -1}: the layers without a layout of their own). */
    private static void add(BitSet held, ExpertPlacement placement, int shard, int layer) {
        if (placement == null || shard >= placement.shards()) {
            return;
        }
        int[] experts = layer < 0 || !placement.layersWithOwnLayout().contains(layer)
                ? placement.commonExpertsOf(shard) : placement.expertsOf(shard, layer);
        for (int e : experts) {
            held.set(e);
        }
    }

    /** Whether the shard holds {@code expert} in MoE layer {@code layer}. */
    public boolean holds(int layer, int expert) {
        return expert >= 0 && layers.getOrDefault(layer, common).get(expert);
    }

    /** The experts held in MoE layer {@code layer}, ascending. */
    public int[] expertsOf(int layer) {
        return layers.getOrDefault(layer, common).stream().toArray();
    }

    /** Whether no layer holds anything. */
    public boolean isEmpty() {
        return common.isEmpty() && layers.values().stream().allMatch(BitSet::isEmpty);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof HeldExperts held && common.equals(held.common) && layers.equals(held.layers);
    }

    @Override
    public int hashCode() {
        return Objects.hash(common, layers);
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("every layer ").append(Arrays.toString(common.stream().toArray()));
        for (Map.Entry<Integer, BitSet> layer : layers.entrySet()) {
            text.append(", layer ").append(layer.getKey()).append(' ').append(Arrays.toString(layer.getValue().stream().toArray()));
        }
        return text.toString();
    }
}
