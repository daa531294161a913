package io.moefleet.expert.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.expert.ExpertPlacement;
import io.moefleet.proto.expert.TokenExperts;
import io.moefleet.rpc.FloatRows;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * A layer's dispatch split by shard: every (token, expert) pair goes to exactly one call, on a shard holding the
 * expert; a shard's tokens go in several calls only when one answer would pass the limit, each call within it, in
 * token order, carrying its tokens' hidden states.
 */
class ShardBatchTest {

    private static final int HIDDEN = 8;

    @Test
    void aShardsTokensGoInAsManyCallsAsKeepEachAnswerWithinTheLimit() {
        ExpertPlacement placement = ExpertPlacement.spread(16, 2, 1);   // shard 0: 0-7, shard 1: 8-15
        int n = 40;
        SplittableRandom random = new SplittableRandom(3);
        float[][] xs = new float[n][HIDDEN];
        int[] tokens = new int[n];
        int[][] experts = new int[n][];
        for (int t = 0; t < n; t++) {
            tokens[t] = t;
            xs[t][0] = t;
            TreeSet<Integer> chosen = new TreeSet<>();
            while (chosen.size() < 4) {
                chosen.add(random.nextInt(16));
            }
            experts[t] = chosen.stream().mapToInt(Integer::intValue).toArray();
        }
        long limit = FloatRows.byteSize(7, HIDDEN);   // 7 expert rows per answer at most
        List<ShardBatch> calls = ShardBatch.split(placement, 1, 0, xs, tokens, experts, HIDDEN, new boolean[2], limit);
        List<ShardBatch> whole = ShardBatch.split(placement, 1, 0, xs, tokens, experts, HIDDEN, new boolean[2], Long.MAX_VALUE);
        assertEquals(2, whole.size(), "without a limit: one call per shard");

        List<String> sent = new ArrayList<>();
        int lastShard = -1;
        int lastRow = -1;
        for (ShardBatch call : calls) {
            assertTrue(call.picks() <= 7, "an answer of " + call.picks() + " rows");
            assertTrue(call.shard() >= lastShard, "shard order");
            if (call.shard() != lastShard) {
                lastRow = -1;
            }
            lastShard = call.shard();
            float[][] states = FloatRows.decode(call.request().getHiddenStates(), call.rows().length, HIDDEN);
            for (int j = 0; j < call.rows().length; j++) {
                int t = call.rows()[j];
                assertTrue(t > lastRow, "a shard's calls follow its tokens in order");
                lastRow = t;
                assertArrayEquals(xs[t], states[j], "token " + t + "'s hidden state");
                TokenExperts token = call.request().getTokens(j);
                for (int expert : token.getExpertsList()) {
                    assertTrue(placement.holds(call.shard(), 1, expert));
                    sent.add(t + ":" + expert);
                }
            }
        }
        List<String> expected = new ArrayList<>();
        for (int t = 0; t < n; t++) {
            for (int expert : experts[t]) {
                expected.add(t + ":" + expert);
            }
        }
        assertEquals(new TreeSet<>(expected), new TreeSet<>(sent), "every (token, expert) pair sent");
        assertEquals(expected.size(), sent.size(), "and once");
        assertTrue(calls.stream().filter(c -> c.shard() == 0).count() >= Math.ceil(whole.get(0).picks() / 7.0),
                "shard 0's " + whole.get(0).picks() + " rows in several calls");
        assertTrue(calls.size() > 2);
    }

    @Test
    void expertsHeldTwiceSplitSoTheShardsWorkAlike() {
        ExpertPlacement placement = ExpertPlacement.spread(16, 2, 2);   // every expert on both shards
        SplittableRandom random = new SplittableRandom(5);
        for (long step = 0; step < 50; step++) {
            // one decode token choosing 8 distinct experts: always 4 and 4
            int[][] one = {random.ints(0, 16).distinct().limit(8).sorted().toArray()};
            int[] shardOf = ShardBatch.assign(placement, 1, step, one, new boolean[2]);
            int onShard0 = 0;
            for (int expert : one[0]) {
                onShard0 += shardOf[expert] == 0 ? 1 : 0;
            }
            assertEquals(4, onShard0, "step " + step + ": experts " + Arrays.toString(one[0]));
        }
        // tokens crowding on a few experts: the shards' work (2 per expert read, 1 per token) differs by at most one
        // expert's, and every expert's tokens go to one shard
        int n = 24;
        int[][] experts = new int[n][];
        for (int t = 0; t < n; t++) {
            TreeSet<Integer> chosen = new TreeSet<>();
            while (chosen.size() < 4) {
                chosen.add(random.nextInt(6) == 0 ? random.nextInt(16) : random.nextInt(4));
            }
            experts[t] = chosen.stream().mapToInt(Integer::intValue).toArray();
        }
        int[] tokensOf = new int[16];
        for (int[] chosen : experts) {
            for (int expert : chosen) {
                tokensOf[expert]++;
            }
        }
        int[] shardOf = ShardBatch.assign(placement, 1, 7, experts, new boolean[2]);
        long[] work = new long[2];
        int heaviest = 0;
        for (int expert = 0; expert < 16; expert++) {
            if (tokensOf[expert] > 0) {
                work[shardOf[expert]] += 2 + tokensOf[expert];
                heaviest = Math.max(heaviest, 2 + tokensOf[expert]);
            } else {
                assertEquals(-1, shardOf[expert], "expert " + expert + " was not asked for");
            }
        }
        assertTrue(Math.abs(work[0] - work[1]) <= heaviest, "work " + work[0] + " against " + work[1]);
        float[][] xs = new float[n][HIDDEN];
        int[] tokens = IntStream.range(0, n).toArray();
        for (ShardBatch call : ShardBatch.split(placement, 1, 7, xs, tokens, experts, HIDDEN, new boolean[2], Long.MAX_VALUE)) {
            for (TokenExperts token : call.request().getTokensList()) {
                for (int expert : token.getExpertsList()) {
                    assertEquals(shardOf[expert], call.shard(), "expert " + expert + "'s tokens on one shard");
                }
            }
        }
        // a shard down: everything goes to the other, and an expert with no replica up is named
        int[] rerouted = ShardBatch.assign(placement, 1, 7, experts, new boolean[] {true, false});
        for (int expert = 0; expert < 16; expert++) {
            assertEquals(tokensOf[expert] > 0 ? 1 : -1, rerouted[expert]);
        }
        IllegalStateException none = assertThrows(IllegalStateException.class,
                () -> ShardBatch.assign(placement, 1, 7, experts, new boolean[] {true, true}));
        assertTrue(none.getMessage().contains("has no replica up"), none.getMessage());
    }
}
