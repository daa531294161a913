package io.moefleet.expert.impl;

import io.moefleet.expert.ExpertPlacement;
import io.moefleet.model.forward.Routing;
import io.moefleet.proto.expert.ForwardRequest;
import io.moefleet.proto.expert.TokenExperts;
import io.moefleet.rpc.FloatRows;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A call of one layer's dispatch to one shard: which of the step's token rows it carries, the request, and how many
 * (token, expert) pairs it names (the rows its answer carries). A shard gets one call per layer, or several in a very
 * large step ({@link #MAX_ANSWER_BYTES}).
 */
public record ShardBatch(int shard, int[] rows, ForwardRequest request, int picks) {

    /**
     * Splits a layer's routed tokens by shard, in shard order, leaving out shards that get nothing. All of an expert's
     * tokens in a step go to one of its replicas that is up ({@link #assign}: its weights are read once), the experts
     * held more than once balancing the shards' work; a shard marked {@code down} is routed around.
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
        return split(placement, layer, step, xs, tokens, experts, hidden, down, MAX_ANSWER_BYTES);
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
        return split(placement, request.getLayer(), request.getStepId(), xs, rows, experts, request.getHiddenSize(), down,
                MAX_ANSWER_BYTES);
    }

    /**
     * The answer bytes one call may carry, half the largest message either side accepts: an answer has a row per (token,
     * expert), so a prefill chunk of 4096 tokens of Kimi K2 on two shards would answer 470 MB in one call.
     */
    static final long MAX_ANSWER_BYTES = FloatRows.MAX_MESSAGE_BYTES / 2;

    /**
     * Token rows {@code tokens[j]} of {@code xs}, each to {@code experts[j]}, by shard; a shard's tokens in as many calls
     * as keep each answer within {@code maxAnswerBytes} (one call unless a step is very large): the calls of one shard
     * follow each other, in token order.
     */
    static List<ShardBatch> split(ExpertPlacement placement, int layer, long step, float[][] xs, int[] tokens,
            int[][] experts, int hidden, boolean[] down, long maxAnswerBytes) {
        int shards = placement.shards();
        long maxPicks = Math.max(1, maxAnswerBytes / FloatRows.byteSize(1, hidden));
        List<List<ShardBatch>> done = new ArrayList<>(shards);
        Open[] open = new Open[shards];
        for (int s = 0; s < shards; s++) {
            done.add(new ArrayList<>());
            open[s] = new Open();
        }
        int[] answering = assign(placement, layer, step, experts, down);
        int[] shardOf = new int[0];
        int[] picksOn = new int[shards];
        for (int j = 0; j < tokens.length; j++) {
            if (shardOf.length < experts[j].length) {
                shardOf = new int[experts[j].length];
            }
            Arrays.fill(picksOn, 0);
            for (int k = 0; k < experts[j].length; k++) {
                shardOf[k] = answering[experts[j][k]];
                picksOn[shardOf[k]]++;
            }
            for (int s = 0; s < shards; s++) {
                if (picksOn[s] == 0) {
                    continue;
                }
                if (open[s].picks > 0 && open[s].picks + picksOn[s] > maxPicks) {
                    done.get(s).add(open[s].close(s, layer, step, xs, hidden));
                    open[s] = new Open();
                }
                TokenExperts.Builder token = TokenExperts.newBuilder();
                for (int k = 0; k < experts[j].length; k++) {
                    if (shardOf[k] == s) {
                        token.addExperts(experts[j][k]);
                    }
                }
                open[s].add(tokens[j], token, picksOn[s]);
            }
        }
        List<ShardBatch> batches = new ArrayList<>();
        for (int s = 0; s < shards; s++) {
            batches.addAll(done.get(s));
            if (open[s].picks > 0) {
                batches.add(open[s].close(s, layer, step, xs, hidden));
            }
        }
        return batches;
    }

    /** A call being filled: its token rows, their experts, and how many (token, expert) pairs they make. */
    private static final class Open {
        private int[] rows = new int[8];
        private int count;
        private int picks;
        private final List<TokenExperts.Builder> tokens = new ArrayList<>();

        void add(int row, TokenExperts.Builder token, int tokenPicks) {
            if (count == rows.length) {
                rows = Arrays.copyOf(rows, 2 * count);
            }
            rows[count++] = row;
            tokens.add(token);
            picks += tokenPicks;
        }

        ShardBatch close(int shard, int layer, long step, float[][] xs, int hidden) {
            int[] shardRows = Arrays.copyOf(rows, count);
            ForwardRequest.Builder request = ForwardRequest.newBuilder()
                    .setLayer(layer)
                    .setStepId(step)
                    .setHiddenSize(hidden)
                    .setHiddenStates(FloatRows.encode(xs, shardRows, hidden));
            tokens.forEach(request::addTokens);
            return new ShardBatch(shard, shardRows, request.build(), picks);
        }
    }

    /**
     * An expert's work on a shard in a step, in tokens' multiply-adds: reading its rows costs about as much as two
     * tokens (as {@link io.moefleet.model.compute.MatMul#productRowCost} counts), then one per token. At decode's few
     * tokens per expert the reads dominate, so the count of experts per shard matters as much as their tokens.
     */
    private static final int EXPERT_READ_IN_TOKENS = 2;

    /**
     * The shard that answers each expert asked for ({@code -1} for the others): an expert with one replica up goes to
     * it; then the experts held by several shards up, the busiest first, each to the replica up with the least work so
     * far (longest-processing-time first), ties to the replica whose turn it is, {@code (step + expert) mod replicas},
     * so that equal loads still rotate over the replicas from step to step. The step waits for its slowest shard: with
     * the choice left to a fixed turn, eight single-token experts over two replicas split 4-4 in only a quarter of the
     * steps. The assignment changes no result (a shard computes an expert's output as any other would, and the router
     * adds the outputs in expert order).
     *
     * @throws IllegalStateException naming the experts that have no replica up
     */
    static int[] assign(ExpertPlacement placement, int layer, long step, int[][] experts, boolean[] down) {
        int[] tokensOf = new int[placement.routedExperts()];
        for (int[] chosen : experts) {
            for (int expert : chosen) {
                tokensOf[expert]++;
            }
        }
        int[] answering = new int[tokensOf.length];
        Arrays.fill(answering, -1);
        long[] work = new long[placement.shards()];
        List<Integer> choices = new ArrayList<>();
        for (int expert = 0; expert < tokensOf.length; expert++) {
            if (tokensOf[expert] == 0) {
                continue;
            }
            int up = 0, only = -1;
            for (int r = 0; r < placement.replicas(layer, expert); r++) {
                int shard = placement.shardOf(layer, expert, r);
                if (!down[shard]) {
                    up++;
                    only = shard;
                }
            }
            if (up == 0) {
                throw noReplicaUp(placement, layer, expert);
            }
            if (up == 1) {
                answering[expert] = only;
                work[only] += EXPERT_READ_IN_TOKENS + tokensOf[expert];
            } else {
                choices.add(expert);
            }
        }
        choices.sort((a, b) -> tokensOf[a] != tokensOf[b] ? Integer.compare(tokensOf[b], tokensOf[a]) : Integer.compare(a, b));
        for (int expert : choices) {
            int replicas = placement.replicas(layer, expert);
            int turn = (int) Math.floorMod(step + expert, (long) replicas);
            int best = -1;
            for (int k = 0; k < replicas; k++) {
                int shard = placement.shardOf(layer, expert, (turn + k) % replicas);
                if (!down[shard] && (best < 0 || work[shard] < work[best])) {
                    best = shard;
                }
            }
            answering[expert] = best;
            work[best] += EXPERT_READ_IN_TOKENS + tokensOf[expert];
        }
        return answering;
    }

    private static IllegalStateException noReplicaUp(ExpertPlacement placement, int layer, int expert) {
        StringBuilder holders = new StringBuilder();
        for (int r = 0; r < placement.replicas(layer, expert); r++) {
            holders.append(r == 0 ? "" : ", ").append(placement.shardOf(layer, expert, r));
        }
        return new IllegalStateException("layer " + layer + " expert " + expert + " has no replica up (held by shard(s) "
                + holders + ", all down)");
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
