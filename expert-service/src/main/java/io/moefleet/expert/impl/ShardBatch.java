package io.moefleet.expert.impl;

import io.moefleet.expert.ExpertPlacement;
import io.moefleet.model.forward.Routing;
import io.moefleet.proto.expert.ForwardRequest;
import io.moefleet.proto.expert.TokenExperts;
import io.moefleet.rpc.FloatRows;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** The part of one layer's dispatch that goes to one shard: which of the step's token rows it gets, and the request carrying them. */
public record ShardBatch(int shard, int[] rows, ForwardRequest request) {

    /**
     * Splits a layer's routed tokens by shard, in shard order, leaving out shards that get nothing. Each (token, expert)
     * goes to one replica of the expert: replica {@code (step + expert) mod replicas}, so all of an expert's tokens in
     * a step meet on one shard (its weights are read once) while successive steps and neighbouring experts rotate
     * over the replicas; a shard marked {@code down} is routed around (the expert goes to the first of its replicas,
     * from its turn on, that is up).
     *
     * @throws IllegalStateException naming the experts that have no replica up (a message for the caller to wrap)
     */
    public static List<ShardBatch> split(ExpertPlacement placement, int layer, long step, float[][] xs, int n,
            Routing[] routings, int hidden, boolean[] down) {
        int[] tokens = new int[n];
        int[][] experts = new int[n][];
        for (int t = 0; t < n; t++) {
            tokens[t] = t;
            experts[t] = routings[t].experts();
        }
        return split(placement, layer, step, xs, tokens, experts, hidden, down);
    }

    /**
     * This batch's (token, expert) pairs split again over the replicas that are up, as {@link #split} routes them: for
     * the call of a shard that failed. The token rows stay the step's ({@code xs}).
     *
     * @throws IllegalStateException naming the experts that have no replica up
     */
    public List<ShardBatch> splitAgain(ExpertPlacement placement, float[][] xs, boolean[] down) {
        int[][] experts = new int[rows.length][];
        for (int j = 0; j < rows.length; j++) {
            experts[j] = request.getTokens(j).getExpertsList().stream().mapToInt(Integer::intValue).toArray();
        }
        return split(placement, request.getLayer(), request.getStepId(), xs, rows, experts, request.getHiddenSize(), down);
    }

    /** Token rows {@code tokens[j]} of {@code xs}, each to {@code experts[j]}, by shard. */
    private static List<ShardBatch> split(ExpertPlacement placement, int layer, long step, float[][] xs, int[] tokens,
            int[][] experts, int hidden, boolean[] down) {
        int shards = placement.shards();
        int[][] rows = new int[shards][tokens.length];
        int[] rowCount = new int[shards];
        List<List<TokenExperts.Builder>> perShard = new ArrayList<>(shards);
        for (int s = 0; s < shards; s++) {
            perShard.add(new ArrayList<>());
        }
        TokenExperts.Builder[] current = new TokenExperts.Builder[shards];
        for (int j = 0; j < tokens.length; j++) {
            Arrays.fill(current, null);
            for (int e : experts[j]) {
                int s = upReplica(placement, layer, e, step, down);
                if (current[s] == null) {
                    current[s] = TokenExperts.newBuilder();
                    perShard.get(s).add(current[s]);
                    rows[s][rowCount[s]++] = tokens[j];
                }
                current[s].addExperts(e);
            }
        }
        List<ShardBatch> batches = new ArrayList<>();
        for (int s = 0; s < shards; s++) {
            if (rowCount[s] == 0) {
                continue;
            }
            int[] shardRows = Arrays.copyOf(rows[s], rowCount[s]);
            ForwardRequest.Builder request = ForwardRequest.newBuilder()
                    .setLayer(layer)
                    .setStepId(step)
                    .setHiddenSize(hidden)
                    .setHiddenStates(FloatRows.encode(xs, shardRows, hidden));
            perShard.get(s).forEach(request::addTokens);
            batches.add(new ShardBatch(s, shardRows, request.build()));
        }
        return batches;
    }

    /** The shard for {@code expert}'s tokens: its replica {@code (step + expert) mod replicas}, else the next one up. */
    private static int upReplica(ExpertPlacement placement, int layer, int expert, long step, boolean[] down) {
        int replicas = placement.replicas(layer, expert);
        int turn = (int) Math.floorMod(step + expert, (long) replicas);
        for (int k = 0; k < replicas; k++) {
            int shard = placement.shardOf(layer, expert, (turn + k) % replicas);
            if (!down[shard]) {
                return shard;
            }
        }
        StringBuilder holders = new StringBuilder();
        for (int r = 0; r < replicas; r++) {
            holders.append(r == 0 ? "" : ", ").append(placement.shardOf(layer, expert, r));
        }
        throw new IllegalStateException("layer " + layer + " expert " + expert + " has no replica up (held by shard(s) " + holders
                + ", all down)");
    }

    /** How many expert outputs the answer carries: one row per (token, expert) sent. */
    public int picks() {
        int picks = 0;
        for (TokenExperts token : request.getTokensList()) {
            picks += token.getExpertsCount();
        }
        return picks;
    }

    /** Whether {@code shard} holds every expert this batch asks for, in {@code layer}: it can answer it in this one's place. */
    public boolean answerableBy(ExpertPlacement placement, int shard) {
        for (var token : request.getTokensList()) {
            for (int expert : token.getExpertsList()) {
                if (!placement.holds(shard, request.getLayer(), expert)) {
                    return false;
                }
            }
        }
        return true;
    }
}
