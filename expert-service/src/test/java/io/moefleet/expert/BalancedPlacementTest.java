package io.moefleet.expert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.expert.impl.LoadBalancedLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class BalancedPlacementTest {

    /** Tokens routed per layer in the synthetic loads: a batch of 8192 tokens, 8 experts each. */
    private static final long ROUTED_PER_LAYER = 8192L * 8;

    /**
     * Zipf load over {@code experts} (the k-th hottest gets a share proportional to k^-exponent), a different seeded
     * permutation of which expert is hot in each of {@code layers} MoE layers (from layer 1, as in K2).
     */
    private static SortedMap<Integer, long[]> zipf(int experts, int layers, double exponent, long seed) {
        double[] weight = new double[experts];
        double sum = 0;
        for (int k = 0; k < experts; k++) {
            weight[k] = Math.pow(k + 1, -exponent);
            sum += weight[k];
        }
        Random random = new Random(seed);
        SortedMap<Integer, long[]> load = new TreeMap<>();
        for (int layer = 1; layer <= layers; layer++) {
            List<Integer> hot = new ArrayList<>();
            for (int e = 0; e < experts; e++) {
                hot.add(e);
            }
            Collections.shuffle(hot, random);
            long[] tokens = new long[experts];
            for (int k = 0; k < experts; k++) {
                tokens[hot.get(k)] = Math.round(ROUTED_PER_LAYER * weight[k] / sum);
            }
            load.put(layer, tokens);
        }
        return load;
    }

    /** Held at most slots per shard, an expert's replicas on distinct shards, every expert held, lists ascending. */
    private static void assertValid(ExpertPlacement placement, int experts, int shards, int slots, Set<Integer> layers) {
        assertEquals(shards, placement.shards());
        for (int layer : layers) {
            int held = 0;
            for (int s = 0; s < shards; s++) {
                int[] list = placement.expertsOf(s, layer);
                assertTrue(list.length <= slots, "layer " + layer + " shard " + s + " holds " + list.length + " > " + slots);
                assertTrue(list.length > 0, "layer " + layer + " shard " + s + " holds nothing");
                int[] sorted = list.clone();
                Arrays.sort(sorted);
                assertArrayEquals(sorted, list);
                held += list.length;
            }
            assertEquals(Math.min((long) shards * slots, (long) experts * shards), held, "layer " + layer + ": every useful slot used");
            for (int e = 0; e < experts; e++) {
                int replicas = placement.replicas(layer, e);
                assertTrue(replicas >= 1, "expert " + e + " held");
                Set<Integer> holders = new HashSet<>();
                for (int r = 0; r < replicas; r++) {
                    holders.add(placement.shardOf(layer, e, r));
                }
                assertEquals(replicas, holders.size(), "layer " + layer + " expert " + e + " replicas share a shard");
            }
        }
    }

    /**
     * The acceptance criterion: on Zipf-skewed loads, hot experts different per layer, the most-loaded shard is within
     * 10% of the ideal in every layer. 384 experts over 48 shards with 9 slots each is K2 with one redundant expert per
     * pod (48 replicas); 14 over 2 with 8 slots is a small model with one spare slot per shard.
     */
    @ParameterizedTest(name = "Zipf {3}: {0} experts over {1} shards x {2} slots")
    @CsvSource({"384, 48, 9, 1.0", "384, 48, 9, 1.2", "14, 2, 8, 1.0", "14, 2, 8, 1.2"})
    void skewedLoadIsBalancedWithinTenPercentOfTheIdeal(int experts, int shards, int slots, double exponent) {
        SortedMap<Integer, long[]> load = zipf(experts, 60, exponent, 20250711L);

        ExpertPlacement placement = BalancedPlacement.plan(experts, shards, slots, load);

        assertValid(placement, experts, shards, slots, load.keySet());
        SortedMap<Integer, BalancedPlacement.LayerBalance> balance = BalancedPlacement.balance(placement, load);
        assertEquals(load.keySet(), balance.keySet());
        balance.forEach((layer, b) -> assertTrue(b.ratio() <= 1.10,
                "layer " + layer + ": most-loaded shard " + b.mostLoadedShard() + " vs ideal " + b.ideal()));
        // without the plan the even rule is far off on the same load: the test is not passing on an easy load
        ExpertPlacement even = ExpertPlacement.spread(experts, shards, 1);
        double evenWorst = BalancedPlacement.balance(even, load).values().stream()
                .mapToDouble(BalancedPlacement.LayerBalance::ratio).max().orElseThrow();
        assertTrue(evenWorst > 1.5, "even rule worst ratio " + evenWorst);
    }

    @Test
    void theHottestExpertsGetTheSpareSlots() {
        long[] tokens = {1000, 10, 10, 10, 10, 10, 500, 10};
        SortedMap<Integer, long[]> load = new TreeMap<>();
        load.put(3, tokens);

        ExpertPlacement placement = BalancedPlacement.plan(8, 4, 3, load);  // 12 slots, 4 spare

        // 1000 -> 500 (2 replicas) ties expert 6 at 500, the lower index goes first: 333; then 6 -> 250; then 0 -> 250
        assertEquals(4, placement.replicas(3, 0));
        assertEquals(2, placement.replicas(3, 6));
        assertEquals(1, placement.replicas(3, 1));
        assertValid(placement, 8, 4, 3, load.keySet());
    }

    @Test
    void slotsBeyondOneReplicaPerShardStayEmpty() {
        SortedMap<Integer, long[]> load = new TreeMap<>();
        load.put(1, new long[] {5, 1, 0});

        ExpertPlacement placement = BalancedPlacement.plan(3, 2, 10, load);

        for (int e = 0; e < 3; e++) {
            assertEquals(2, placement.replicas(1, e), "expert " + e + " on both shards");
        }
        assertArrayEquals(new int[] {0, 1, 2}, placement.expertsOf(0, 1));
        assertArrayEquals(new int[] {0, 1, 2}, placement.expertsOf(1, 1));
    }

    @Test
    void packingMakesRoomWhenTheOnlyFreeSlotIsOnAShardHoldingThatExpert() {
        // 1000 -> shard 0; 100, 50, 45 -> shard 1 (full); the first replica of expert 4 -> shard 0, whose last free slot
        // then cannot take the second: expert 3 (the move that leaves the heavier shard lightest) moves over to shard 0
        long[] load = {1000, 100, 50, 45, 80};
        List<List<Integer>> shards = LoadBalancedLayout.pack(load, new int[] {1, 1, 1, 1, 2}, 2, 3);
        assertEquals(List.of(List.of(0, 3, 4), List.of(1, 2, 4)), shards);
    }

    @Test
    void tooFewSlotsAreRefusedNamingTheShortfall() {
        SortedMap<Integer, long[]> load = zipf(384, 1, 1.0, 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BalancedPlacement.plan(384, 48, 7, load));
        assertEquals("48 shards x 7 slots = 336 slots cannot hold the 384 routed experts: short by 48 slots", e.getMessage());
    }

    @Test
    void loadsThatDoNotFitTheModelAreRefused() {
        SortedMap<Integer, long[]> wrongSize = new TreeMap<>();
        wrongSize.put(2, new long[] {1, 2, 3});
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BalancedPlacement.plan(4, 2, 2, wrongSize))
                .getMessage().contains("layer 2: the load lists 3 experts, the model has 4"));
        SortedMap<Integer, long[]> negative = new TreeMap<>();
        negative.put(1, new long[] {1, -2});
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BalancedPlacement.plan(2, 1, 2, negative))
                .getMessage().contains("expert 1 is negative"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> BalancedPlacement.plan(2, 1, 2, new TreeMap<>()))
                .getMessage().contains("at least one MoE layer"));
    }

    @Test
    void roundTripsThroughThePlacementFile() {
        SortedMap<Integer, long[]> load = zipf(384, 60, 1.2, 7);
        ExpertPlacement placement = BalancedPlacement.plan(384, 48, 9, load);

        String json = placement.toJson();
        ExpertPlacement back = ExpertPlacement.parse(json);

        assertEquals(json, back.toJson());
        assertEquals(placement.shards(), back.shards());
        for (int layer : load.keySet()) {
            for (int s = 0; s < 48; s++) {
                assertArrayEquals(placement.expertsOf(s, layer), back.expertsOf(s, layer), "layer " + layer + " shard " + s);
            }
        }
        // the common list is the first layer's layout
        for (int s = 0; s < 48; s++) {
            assertArrayEquals(placement.expertsOf(s, 1), back.expertsOf(s, 0));
        }
    }

    @Test
    void isDeterministic() {
        SortedMap<Integer, long[]> load = zipf(384, 4, 1.0, 3);
        assertEquals(BalancedPlacement.plan(384, 48, 9, load).toJson(), BalancedPlacement.plan(384, 48, 9, load).toJson());
    }

    @ParameterizedTest(name = "{0} experts over {1} shards x {2} slots")
    @CsvSource({"384, 48, 9", "384, 16, 25", "384, 16, 24", "14, 2, 8", "16, 5, 4", "4, 6, 1", "256, 32, 9"})
    void uniformLoadGivesABalancedPlan(int experts, int shards, int slots) {
        long[] tokens = new long[experts];
        Arrays.fill(tokens, 1000);
        SortedMap<Integer, long[]> load = new TreeMap<>();
        load.put(1, tokens);

        ExpertPlacement measured = BalancedPlacement.plan(experts, shards, slots, load);
        ExpertPlacement before = BalancedPlacement.uniform(experts, shards, slots);

        for (ExpertPlacement placement : List.of(measured, before)) {
            assertValid(placement, experts, shards, slots, load.keySet());
            int[] sizes = new int[shards];
            for (int s = 0; s < shards; s++) {
                sizes[s] = placement.expertsOf(s, 1).length;
            }
            int min = Arrays.stream(sizes).min().orElseThrow();
            int max = Arrays.stream(sizes).max().orElseThrow();
            assertTrue(max - min <= 1, "shard sizes " + Arrays.toString(sizes));
            // every shard within one replica's share of the ideal
            double ratio = BalancedPlacement.balance(placement, load).get(1).ratio();
            double oneReplica = 1000.0 / (1000.0 * experts / shards);
            assertTrue(ratio <= 1 + oneReplica + 1e-9, "ratio " + ratio);
        }
        assertEquals(measured.toJson().contains("\"layers\""), true);
        assertEquals(before.toJson().contains("\"layers\""), false, "one layout for every layer");
    }
}
