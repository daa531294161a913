package io.moefleet.kvcache;

import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Model ids of written checkpoints: equal checkpoints agree; another seed, format, config or numerics does not. */
class ModelIdsTest {

    @Test
    void equalCheckpointsGetEqualIdsAndAnyDifferenceAnother(@TempDir Path dir) throws IOException {
        Path a = write(dir.resolve("a"), 7, WeightFormat.BF16);
        Path again = write(dir.resolve("again"), 7, WeightFormat.BF16);
        Path seed = write(dir.resolve("seed"), 8, WeightFormat.BF16);
        Path format = write(dir.resolve("format"), 7, WeightFormat.F32);

        String id = ModelIds.ofCheckpoint(a, ModelIds.FLOAT32);
        assertTrue(id.matches("ckpt-[0-9a-f]{24}/f32"), id);
        assertEquals(id, ModelIds.ofCheckpoint(again, ModelIds.FLOAT32), "the same checkpoint written twice");
        assertNotEquals(id, ModelIds.ofCheckpoint(seed, ModelIds.FLOAT32), "other weights of the same shapes");
        assertNotEquals(id, ModelIds.ofCheckpoint(format, ModelIds.FLOAT32), "another weight format");
        assertNotEquals(id, ModelIds.ofCheckpoint(a, "q8"), "other numerics");

        Files.writeString(again.resolve("config.json"), Files.readString(again.resolve("config.json")) + "\n");
        assertNotEquals(id, ModelIds.ofCheckpoint(again, ModelIds.FLOAT32), "another config.json (ids hash its bytes)");
    }

    @Test
    void aDirectoryWithoutWeightsIsRefused(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("config.json"), "{}");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelIds.ofCheckpoint(dir, ModelIds.FLOAT32));
        assertTrue(e.getMessage().contains("no .safetensors file"), e.getMessage());
    }

    private static Path write(Path out, long seed, WeightFormat format) throws IOException {
        CheckpointWriter.write(Preset.config("tiny"), seed, format, out);
        return out;
    }
}
