package io.moefleet.expert.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import io.moefleet.expert.ExpertPlacement;
import io.moefleet.expert.HeldExperts;
import io.moefleet.expert.Rollout;
import io.moefleet.model.GoldenData;
import io.moefleet.rpc.FloatRows;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A shard whose placement changes frees the copies of the experts it no longer holds (a change's copies go when none of
 * its experts is held), and serves the same sums from experts bound again.
 */
class ShardExpertsTest {

    private static final Path TINY = GoldenData.checkpoint("tiny-k2");                 // 16 routed experts, MoE layers 1 and 2
    private static final ExpertPlacement TWO = ExpertPlacement.spread(16, 2, 1);       // 0..7 | 8..15
    private static final ExpertPlacement FOUR = ExpertPlacement.spread(16, 4, 1);      // 0..3 | 4..7 | 8..11 | 12..15

    @Test
    void aChangesCopiesAreFreedOnceNoneOfItsExpertsIsHeld() {
        try (ShardExperts shard = ShardExperts.open(TINY, 0, 1)) {
            shard.hold(HeldExperts.of(FOUR, Rollout.NONE, 0));                // 0..3
            float[][] before = apply(shard);
            assertEquals(1, shard.memoriesHeld(), "one change, its experts held");

            shard.hold(HeldExperts.of(FOUR, Rollout.of(TWO, 1), 0));          // 0..3 plus 0..7: adds 4..7
            assertEquals(2, shard.memoriesHeld(), "both changes hold experts");

            shard.hold(HeldExperts.of(TWO, Rollout.NONE, 0));                 // 0..7: adds nothing
            assertEquals(2, shard.memoriesHeld(), "a change that adds nothing keeps no memory");

            shard.hold(HeldExperts.of(FOUR, Rollout.NONE, 1));                // 4..7: 0..3 dropped, their copies freed
            assertEquals(1, shard.memoriesHeld(), "the first change's experts are all dropped");

            shard.hold(HeldExperts.of(FOUR, Rollout.NONE, 0));                // 0..3 again, 4..7 dropped
            assertEquals(1, shard.memoriesHeld(), "only the change that bound 0..3 again");
            float[][] after = apply(shard);
            for (int t = 0; t < before.length; t++) {
                assertArrayEquals(before[t], after[t], 0f, "token " + t + " from experts bound again");
            }
        }
    }

    /** Two tokens routed to experts 0..3 of MoE layer 1: the four outputs. */
    private static float[][] apply(ShardExperts shard) {
        SplittableRandom random = new SplittableRandom(5);
        int hidden = shard.config().hiddenSize();
        float[][] xs = new float[2][hidden];
        for (float[] x : xs) {
            for (int i = 0; i < hidden; i++) {
                x[i] = (float) random.nextGaussian();
            }
        }
        ByteString outputs = shard.apply(1, xs, new int[][] {{0, 2}, {1, 3}});
        return FloatRows.decode(outputs, 4, hidden);
    }
}
