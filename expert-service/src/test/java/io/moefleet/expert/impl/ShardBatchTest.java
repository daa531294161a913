package io.moefleet.expert.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.expert.ExpertPlacement;
import io.moefleet.proto.expert.TokenExperts;
import io.moefleet.rpc.FloatRows;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;
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
}
