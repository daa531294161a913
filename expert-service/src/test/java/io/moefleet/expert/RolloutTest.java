package io.moefleet.expert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.GoldenData;
import io.moefleet.model.ModelConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class RolloutTest {

    /** tiny-k2: 16 routed experts, layer 0 dense, layers 1 and 2 MoE. */
    private static final ModelConfig TINY = ModelConfig.read(GoldenData.checkpoint("tiny-k2").resolve("config.json"));
    private static final String FOUR = ExpertPlacement.spread(16, 4, 1).toJson();

    @Test
    void readsAlsoHoldAndTheBoundAndWritesThemBack() {
        Rollout rollout = Rollout.parse("{\"also_hold\": " + FOUR + ", \"shards_below\": 2}");
        assertEquals(2, rollout.shardsBelow());
        assertEquals(FOUR, rollout.alsoHold().orElseThrow().toJson());
        assertTrue(rollout.givesExtrasTo(1));
        assertTrue(!rollout.givesExtrasTo(2));

        Rollout back = Rollout.parse(rollout.toJson());
        assertEquals(2, back.shardsBelow());
        assertEquals(FOUR, back.alsoHold().orElseThrow().toJson());
        assertEquals("{ }", Rollout.NONE.toJson());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "  \n", "{}", " { } "})
    void emptyMeansNoRollout(String json) {
        assertSame(Rollout.NONE, Rollout.parse(json));
    }

    @Test
    void aMissingFileMeansNoRollout(@TempDir Path folder) {
        assertSame(Rollout.NONE, Rollout.read(folder.resolve("rollout.json")));
        assertEquals(folder.resolve("rollout.json"), Rollout.beside(folder.resolve("placement.json")));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "{\"also_hold\": {}, \"shards_below\": 1, \"hurry\": true}|unknown field \"hurry\"; valid: also_hold, shards_below",
        "{\"shards_below\": 1}|give both \"also_hold\" and \"shards_below\" (or {} for no rollout)",
        "{\"also_hold\": " + "{\"routed_experts\": 16, \"shards\": [[0]]}" + "}|give both \"also_hold\" and \"shards_below\"",
        "{\"also_hold\": {\"routed_experts\": 16, \"shards\": [[0]]}, \"shards_below\": -1}|\"shards_below\" must be a whole number of at least 0, got -1",
        "{\"also_hold\": {\"routed_experts\": 16, \"shards\": [[0]]}, \"shards_below\": 1.5}|\"shards_below\" must be a whole number of at least 0, got 1.5",
        "{\"also_hold\": {\"routed_experts\": 16, \"shards\": [[0]]}, \"shards_below\": \"2\"}|\"shards_below\" must be a whole number of at least 0, got \"2\"",
        "{\"also_hold\": {\"routed_experts\": 16, \"shards\": [[0, 16]]}, \"shards_below\": 1}|also_hold: shards[0]: expert 16 is outside [0, 16)",
        "{\"also_hold\": {\"routed_experts\": 16, \"shards\": [[0]]}, \"shards_below\": 1}|also_hold: shards: expert 1 is held by no shard",
        "{\"also_hold\": {\"routed_experts\": 2, \"shards\": [[0, 1]], \"replicas\": 1}, \"shards_below\": 1}|also_hold: unknown field \"replicas\"",
        "{\"also_hold\": [], \"shards_below\": 1}|also_hold: expected a JSON object with \"routed_experts\" and \"shards\"",
        "[]|expected a JSON object with \"also_hold\" and \"shards_below\", or {} for none",
        "{\"also_hold\": |not valid JSON",
    })
    void refusesWhatIsNotARolloutNamingTheField(String json, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Rollout.parse(json));
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
    }

    @Test
    void fileErrorsNameTheFile(@TempDir Path folder) throws IOException {
        Path file = folder.resolve("rollout.json");
        Files.writeString(file, "{\"also_hold\": " + FOUR + ", \"shards_below\": 2, \"hurry\": true}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Rollout.read(file));
        assertEquals("rollout file " + file + ": unknown field \"hurry\"; valid: also_hold, shards_below", e.getMessage());
    }

    @Test
    void alsoHoldIsCheckedAgainstTheModel() {
        Rollout.parse("{\"also_hold\": " + FOUR + ", \"shards_below\": 2}").checkAgainst(TINY);
        Rollout.NONE.checkAgainst(TINY);
        Rollout eight = Rollout.of(ExpertPlacement.spread(8, 2, 1), 2);
        assertEquals("also_hold: the placement is for 8 routed experts but the model has 16",
                assertThrows(IllegalArgumentException.class, () -> eight.checkAgainst(TINY)).getMessage());
        assertEquals("\"shards_below\" cannot be negative, got -1",
                assertThrows(IllegalArgumentException.class, () -> Rollout.of(ExpertPlacement.spread(16, 2, 1), -1)).getMessage());
    }
}
