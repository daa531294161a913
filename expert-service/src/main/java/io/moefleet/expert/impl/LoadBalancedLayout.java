package io.moefleet.expert.impl;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * One layer's layout balanced on its measured expert load, in EPLB's two steps: give the spare slots to replicas of
 * the hottest experts, then pack the replicas onto shards. Each replica is taken to carry {@code load / replicas} (the
 * router splitting an expert's tokens evenly over its replicas).
 */
public final class LoadBalancedLayout {

    private LoadBalancedLayout() {}

    /**
     * The experts each shard holds, ascending, for {@code load[expert]}: every expert at least once, an expert's replicas
     * on distinct shards, at most {@code slotsPerShard} per shard. The caller has checked that the slots hold every expert.
     */
    public static List<List<Integer>> of(long[] load, int shards, int slotsPerShard) {
        return pack(load, replicas(load, shards, (long) shards * slotsPerShard - load.length), shards, slotsPerShard);
    }

    /** The packing step alone, for {@code replicas[expert]} replicas of each expert (at most one per shard). */
    public static List<List<Integer>> pack(long[] load, int[] replicas, int shards, int slotsPerShard) {
        return new Packing(load, replicas, shards, slotsPerShard).run();
    }

    /**
     * One replica each, then each spare slot to the expert whose replicas carry the most (ties: the lower index), as
     * EPLB does. An expert never gets more replicas than there are shards, so slots beyond that stay empty.
     */
    static int[] replicas(long[] load, int shards, long spare) {
        int[] replicas = new int[load.length];
        Arrays.fill(replicas, 1);
        PriorityQueue<Integer> hottest = new PriorityQueue<>(Comparator
                .comparingDouble((Integer e) -> -(double) load[e] / replicas[e])
                .thenComparingInt(e -> e));
        for (int e = 0; e < load.length; e++) {
            if (shards > 1) {
                hottest.add(e);
            }
        }
        for (long given = 0; given < spare && !hottest.isEmpty(); given++) {
            int e = hottest.poll();
            replicas[e]++;
            if (replicas[e] < shards) {
                hottest.add(e);
            }
        }
        return replicas;
    }

    /**
     * Heaviest replica first to the least-loaded shard (ties: fewer experts held, then the lower index) that has a free
     * slot and does not hold that expert yet. Counting held experts in the ties spreads replicas of no load evenly, and
     * puts the first {@code shards} replicas on distinct shards, so no shard is left empty.
     */
    private static final class Packing {
        private final int[] replicas;
        private final double[] share;          // [expert] -> load each replica carries
        private final int slots;
        private final double[] shardLoad;
        private final List<List<Integer>> held = new ArrayList<>();
        private final boolean[][] holds;       // [shard][expert]

        Packing(long[] load, int[] replicas, int shards, int slots) {
            this.replicas = replicas;
            this.slots = slots;
            share = new double[load.length];
            for (int e = 0; e < load.length; e++) {
                share[e] = (double) load[e] / replicas[e];
            }
            shardLoad = new double[shards];
            holds = new boolean[shards][load.length];
            for (int s = 0; s < shards; s++) {
                held.add(new ArrayList<>());
            }
        }

        List<List<Integer>> run() {
            List<Integer> order = new ArrayList<>();
            for (int e = 0; e < replicas.length; e++) {
                for (int r = 0; r < replicas[e]; r++) {
                    order.add(e);
                }
            }
            order.sort(Comparator.comparingDouble((Integer e) -> -share[e]).thenComparingInt(e -> e));
            for (int e : order) {
                int shard = leastLoadedFor(e);
                if (shard < 0) {
                    shard = makeRoomFor(e);
                }
                put(shard, e);
            }
            held.forEach(list -> list.sort(null));
            return held;
        }

        private int leastLoadedFor(int expert) {
            int best = -1;
            for (int s = 0; s < shardLoad.length; s++) {
                if (held.get(s).size() < slots && !holds[s][expert]
                        && (best < 0 || shardLoad[s] < shardLoad[best]
                            || shardLoad[s] == shardLoad[best] && held.get(s).size() < held.get(best).size())) {
                    best = s;
                }
            }
            return best;
        }

        /**
         * Every shard with a free slot already holds {@code expert}: move some other expert from a full shard that lacks
         * {@code expert} to a shard with a free slot, and return the full shard. One always exists: a full shard holds
         * more experts than one with a free slot, so it holds one the latter lacks. Of the possible moves, the one whose
         * heavier shard ends lightest (ties: the first found).
         */
        private int makeRoomFor(int expert) {
            int bestFrom = -1;
            int bestTo = -1;
            int bestMoved = -1;
            double bestPeak = Double.POSITIVE_INFINITY;
            for (int to = 0; to < shardLoad.length; to++) {
                if (held.get(to).size() >= slots) {
                    continue;
                }
                for (int from = 0; from < shardLoad.length; from++) {
                    if (holds[from][expert]) {
                        continue;
                    }
                    for (int moved : held.get(from)) {
                        if (holds[to][moved]) {
                            continue;
                        }
                        double peak = Math.max(shardLoad[to] + share[moved], shardLoad[from] - share[moved] + share[expert]);
                        if (peak < bestPeak) {
                            bestPeak = peak;
                            bestFrom = from;
                            bestTo = to;
                            bestMoved = moved;
                        }
                    }
                }
            }
            if (bestFrom < 0) {
                throw new IllegalStateException("no shard can take a replica of expert " + expert);
            }
            held.get(bestFrom).remove(Integer.valueOf(bestMoved));
            holds[bestFrom][bestMoved] = false;
            shardLoad[bestFrom] -= share[bestMoved];
            put(bestTo, bestMoved);
            return bestFrom;
        }

        private void put(int shard, int expert) {
            held.get(shard).add(expert);
            holds[shard][expert] = true;
            shardLoad[shard] += share[expert];
        }
    }
}
