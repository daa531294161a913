package io.moefleet.expert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class HeldExpertsTest {

    private static final ExpertPlacement TWO = ExpertPlacement.spread(16, 2, 1);     // 0..7 | 8..15
    private static final ExpertPlacement FOUR = ExpertPlacement.spread(16, 4, 1);    // 0..3 | 4..7 | 8..11 | 12..15

    @Test
    void withoutRolloutAShardHoldsItsPartOfThePlacement() {
        HeldExperts held = HeldExperts.of(TWO, Rollout.NONE, 1);
        assertArrayEquals(range(8, 16), held.expertsOf(1));
        assertArrayEquals(range(8, 16), held.expertsOf(7), "every layer without its own layout");
        assertTrue(held.holds(2, 8));
        assertFalse(held.holds(2, 7));
    }

    @Test
    void shardsBelowTheRolloutsBoundAlsoHoldTheirPartOfAlsoHold() {
        Rollout rollout = Rollout.of(FOUR, 2);
        assertArrayEquals(range(0, 8), HeldExperts.of(TWO, rollout, 0).expertsOf(1), "0..7 plus 0..3");
        assertArrayEquals(IntStream.concat(IntStream.range(4, 8), IntStream.range(8, 16)).toArray(),
                HeldExperts.of(TWO, rollout, 1).expertsOf(1), "8..15 plus 4..7");
        assertEquals(HeldExperts.of(TWO, Rollout.NONE, 1), HeldExperts.of(TWO, Rollout.of(FOUR, 1), 1), "shard 1 is not below 1");
    }

    @Test
    void aShardBeyondAPlacementGetsNothingFromIt() {
        assertEquals(HeldExperts.NONE, HeldExperts.of(TWO, Rollout.NONE, 3));
        assertTrue(HeldExperts.of(TWO, Rollout.NONE, 3).isEmpty());
        assertEquals(HeldExperts.NONE, HeldExperts.of(TWO, Rollout.of(FOUR, 3), 3), "below 3 only");
        assertArrayEquals(range(12, 16), HeldExperts.of(TWO, Rollout.of(FOUR, 4), 3).expertsOf(1));
        // the bound may exceed also_hold's shards (all old shards while the previous placement had fewer)
        assertEquals(HeldExperts.of(FOUR, Rollout.NONE, 2), HeldExperts.of(FOUR, Rollout.of(TWO, 4), 2));
    }

    @Test
    void layersWithTheirOwnLayoutAreUnitedLayerByLayer() {
        ExpertPlacement current = ExpertPlacement.of(16, List.of(list(0, 8), list(8, 16)),
                layers(2, List.of(list(0, 4), list(4, 16))));
        ExpertPlacement next = ExpertPlacement.of(16, List.of(List.of(8, 9), list(0, 16)),
                layers(1, List.of(List.of(15), list(0, 15))));
        HeldExperts held = HeldExperts.of(current, Rollout.of(next, 1), 0);

        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7, 15}, held.expertsOf(1), "current's common list + next's layer 1");
        assertArrayEquals(new int[] {0, 1, 2, 3, 8, 9}, held.expertsOf(2), "current's layer 2 + next's common list");
        assertArrayEquals(range(0, 10), held.expertsOf(3), "both common lists");
        assertFalse(held.holds(1, 8));
        assertTrue(held.holds(2, 9));
    }

    @Test
    void equalWhenEveryLayerHoldsTheSame() {
        ExpertPlacement sameAsTwo = ExpertPlacement.of(16, List.of(list(0, 8), list(8, 16)),
                layers(1, List.of(list(0, 8), list(8, 16))));
        assertEquals(HeldExperts.of(TWO, Rollout.NONE, 0), HeldExperts.of(sameAsTwo, Rollout.NONE, 0));
        assertEquals(HeldExperts.of(TWO, Rollout.NONE, 0).hashCode(), HeldExperts.of(sameAsTwo, Rollout.NONE, 0).hashCode());
        assertEquals(HeldExperts.of(TWO, Rollout.NONE, 0), HeldExperts.of(TWO, Rollout.of(FOUR, 2), 0), "0..3 already held");
        assertNotEquals(HeldExperts.of(TWO, Rollout.NONE, 0), HeldExperts.of(TWO, Rollout.NONE, 1));
    }

    @Test
    void refusesWhatCannotBeAShardOrAPlacementPair() {
        assertEquals("shard index cannot be negative, got -1",
                assertThrows(IllegalArgumentException.class, () -> HeldExperts.of(TWO, Rollout.NONE, -1)).getMessage());
        assertEquals("the rollout's also_hold is for 8 routed experts but the placement for 16",
                assertThrows(IllegalArgumentException.class,
                        () -> HeldExperts.of(TWO, Rollout.of(ExpertPlacement.spread(8, 2, 1), 2), 0)).getMessage());
    }

    private static int[] range(int from, int to) {
        return IntStream.range(from, to).toArray();
    }

    private static List<Integer> list(int from, int to) {
        return IntStream.range(from, to).boxed().toList();
    }

    private static SortedMap<Integer, List<List<Integer>>> layers(int layer, List<List<Integer>> shards) {
        SortedMap<Integer, List<List<Integer>>> layers = new TreeMap<>();
        layers.put(layer, shards);
        return layers;
    }
}
