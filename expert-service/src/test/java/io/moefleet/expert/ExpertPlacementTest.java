package io.moefleet.expert;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.GoldenData;
import io.moefleet.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ExpertPlacementTest {

    /** tiny-k2: 16 routed experts, layer 0 dense, layers 1 and 2 MoE. */
    private static final ModelConfig TINY = ModelConfig.read(GoldenData.checkpoint("tiny-k2").resolve("config.json"));

    @ParameterizedTest(name = "{0} experts on {1} shards x {2} replicas")
    @CsvSource({"16, 1, 1", "16, 4, 1", "16, 4, 2", "16, 5, 1", "16, 3, 3", "384, 7, 2", "256, 64, 3", "16, 16, 1", "16, 32, 2"})
    void evenRuleSpreadsEvenlyOnDistinctShardsAndHoldsEveryExpert(int experts, int shards, int replicas) {
        ExpertPlacement placement = ExpertPlacement.spread(experts, shards, replicas);

        assertEquals(shards, placement.shards());
        int[] sizes = IntStream.range(0, shards).map(s -> placement.expertsOf(s, 1).length).toArray();
        int min = Arrays.stream(sizes).min().orElseThrow();
        int max = Arrays.stream(sizes).max().orElseThrow();
        assertTrue(max - min <= 1, "shard sizes " + Arrays.toString(sizes));
        assertEquals((long) experts * replicas, Arrays.stream(sizes).asLongStream().sum());
        for (int e = 0; e < experts; e++) {
            assertEquals(replicas, placement.replicas(1, e), "replicas of expert " + e);
            Set<Integer> holders = new HashSet<>();
            for (int r = 0; r < replicas; r++) {
                int shard = placement.shardOf(1, e, r);
                assertTrue(placement.holds(shard, 1, e));
                holders.add(shard);
            }
            assertEquals(replicas, holders.size(), "expert " + e + "'s replicas share a shard: " + holders);
        }
    }

    @Test
    void oneReplicaGivesEachShardAContiguousRange() {
        ExpertPlacement placement = ExpertPlacement.spread(16, 3, 1);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4}, placement.expertsOf(0, 1));
        assertArrayEquals(new int[] {5, 6, 7, 8, 9}, placement.expertsOf(1, 1));
        assertArrayEquals(new int[] {10, 11, 12, 13, 14, 15}, placement.expertsOf(2, 1));
    }

    @Test
    void replicasFollowTheRowOfSlots() {
        // slots 0..31 = experts 0..15 twice; shard s takes slots [8s, 8s + 8)
        ExpertPlacement placement = ExpertPlacement.spread(16, 4, 2);
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, placement.expertsOf(0, 2));
        assertArrayEquals(new int[] {8, 9, 10, 11, 12, 13, 14, 15}, placement.expertsOf(1, 2));
        assertArrayEquals(new int[] {0, 1, 2, 3, 4, 5, 6, 7}, placement.expertsOf(2, 2));
        assertEquals(0, placement.shardOf(2, 5, 0));
        assertEquals(2, placement.shardOf(2, 5, 1));
    }

    @Test
    void expertsPerShardGivesAsFewShardsAsHoldThemAll() {
        assertEquals(4, ExpertPlacement.withExpertsPerShard(16, 4, 1).shards());
        ExpertPlacement three = ExpertPlacement.withExpertsPerShard(16, 6, 1);   // 6 + 5 + 5, not 6 + 6 + 4
        assertEquals(3, three.shards());
        assertTrue(IntStream.range(0, 3).allMatch(s -> three.expertsOf(s, 1).length <= 6));
        assertEquals(8, ExpertPlacement.withExpertsPerShard(16, 4, 2).shards());
    }

    @Test
    void badRuleArgumentsSayWhatIsWrong() {
        assertMessage("2 replicas need at least 2 shards", () -> ExpertPlacement.spread(16, 1, 2));
        assertMessage("some shards would hold nothing", () -> ExpertPlacement.spread(16, 17, 1));
        assertMessage("must be at least 1", () -> ExpertPlacement.spread(16, 0, 1));
        assertMessage("must be at least 1", () -> ExpertPlacement.spread(16, 2, 0));
        assertMessage("between 1 and the model's 16 routed experts, got 17", () -> ExpertPlacement.withExpertsPerShard(16, 17, 1));
        assertMessage("no routed experts", () -> ExpertPlacement.spread(0, 1, 1));
    }

    @Test
    void flagsNeedExactlyOneWayToPlace() {
        assertMessage("give exactly one of --expert-shards N, --experts-per-shard K or --placement FILE",
                () -> new PlacementFlags(null, null, 2, null).resolve(TINY));
        assertMessage("(got --expert-shards, --experts-per-shard)",
                () -> new PlacementFlags(4, 4, null, null).resolve(TINY));
        assertMessage("--replicas goes with --expert-shards or --experts-per-shard",
                () -> new PlacementFlags(null, null, 2, Path.of("placement.json")).resolve(TINY));
        assertMessage("3 replicas need at least 3 shards", () -> new PlacementFlags(2, null, 3, null).resolve(TINY));
        assertEquals(8, new PlacementFlags(null, 4, 2, null).resolve(TINY).shards());
    }

    @Test
    void fileRoundTripsAndMayPlaceALayerItsOwnWay(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("placement.json");
        Files.writeString(file, """
                {
                  "routed_experts": 16,
                  "shards": [[0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15], [0, 2, 4, 6]],
                  "layers": {"2": [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15]]}
                }
                """);
        ExpertPlacement placement = new PlacementFlags(null, null, null, file).resolve(TINY);

        assertEquals(3, placement.shards());
        assertEquals(2, placement.replicas(1, 4));
        assertEquals(1, placement.replicas(1, 5));
        assertEquals(2, placement.shardOf(1, 4, 1));
        assertTrue(placement.holds(2, 1, 6));
        assertFalse(placement.holds(2, 2, 6), "layer 2 has its own layout");
        assertArrayEquals(new int[] {8, 9, 10, 11, 12, 13, 14, 15}, placement.expertsOf(2, 2));
        ExpertPlacement again = ExpertPlacement.parse(placement.toJson());
        for (int layer : new int[] {1, 2}) {
            for (int s = 0; s < 3; s++) {
                assertArrayEquals(placement.expertsOf(s, layer), again.expertsOf(s, layer));
            }
        }
    }

    @ParameterizedTest(name = "{1}")
    @CsvSource(delimiter = '|', textBlock = """
            {"routed_experts": 16, "shards": [[0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14]]}           | expert 15 is held by no shard
            {"routed_experts": 16, "shards": [[0, 1, 2, 3, 4, 5, 6, 7, 7], [8, 9, 10, 11, 12, 13, 14, 15]]}    | shards[0]: expert 7 is listed twice
            {"routed_experts": 16, "shards": [[0, 1, 2, 3, 4, 5, 6, 16], [7, 8, 9, 10, 11, 12, 13, 14, 15]]}   | shards[0]: expert 16 is outside [0, 16)
            {"routed_experts": 16, "shards": [[0, 1, 2, "x"]]}                                                  | shards[0][3]: expected an expert index, got "x"
            {"routed_experts": 16, "shards": [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15], []]}      | shard 1 holds no experts
            {"routed_experts": 16}                                                                              | shards must be a non-empty array
            {"routed_experts": 8, "shards": [[0, 1, 2, 3, 4, 5, 6, 7]]}                                         | the placement is for 8 routed experts but the model has 16
            {"routed_experts": 16, "shard": []}                                                                 | unknown field "shard"
            {"routed_experts": 16, "shards": [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]], "layers": {"0": [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]]}} | layer 0 is not an MoE layer
            {"routed_experts": 16, "shards": [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]], "layers": {"2": [[0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15]]}} | layers."2" lists 2 shards but "shards" lists 1
            {"routed_experts": 16, "shards": [[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]], "layers": {"one": []}} | layers."one": a layer index must be a whole number
            [1, 2]                                                                                              | expected a JSON object
            {"routed_experts": 16, "shards": [[0, 1]                                                            | not valid JSON
            """)
    void badFilesNameTheFileAndTheProblem(String json, String expected, @TempDir Path dir) throws IOException {
        Path file = dir.resolve("bad.json");
        Files.writeString(file, json);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new PlacementFlags(null, null, null, file).resolve(TINY));
        assertTrue(e.getMessage().startsWith("placement file " + file + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }

    @Test
    void aMissingFileIsNamed(@TempDir Path dir) {
        Path missing = dir.resolve("nowhere.json");
        assertMessage("placement file " + missing + " cannot be read", () -> ExpertPlacement.read(missing));
    }

    private static void assertMessage(String expected, org.junit.jupiter.api.function.Executable call) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(expected), "message: " + e.getMessage());
    }
}
