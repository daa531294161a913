package io.moefleet.expert;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ShardSettingsTest {

    private static final Path MODEL = Path.of("model");
    private static final ExpertPlacement TWO = ExpertPlacement.spread(16, 2, 1);

    @Test
    void aShardBeyondAPlacementFileIsOneTheRolloutWillFill() {
        ShardSettings added = new ShardSettings(MODEL, TWO, 5, 0, 1, Path.of("fleet", "placement.json"));
        assertEquals(5, added.shard());
    }

    @Test
    void aShardBeyondAFixedPlacementIsRefused() {
        assertEquals("shard 2 is outside the placement's 2 shards [0, 2)",
                assertThrows(IllegalArgumentException.class, () -> new ShardSettings(MODEL, TWO, 2, 0, 1)).getMessage());
        assertEquals("shard index cannot be negative, got -1", assertThrows(IllegalArgumentException.class,
                () -> new ShardSettings(MODEL, TWO, -1, 0, 1, Path.of("placement.json"))).getMessage());
    }
}
