package io.moefleet.model.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.model.GoldenData;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** K2.5 / Kimi-VL layouts: a language_model. prefix, an MTP layer and a vision tower beside the text model. */
class CheckpointLayoutTest {

    @TempDir
    Path dir;

    @Test
    void prefixedTensorsLoadAndUnusedOnesAreSkipped() throws IOException {
        Path original = GoldenData.checkpoint("tiny-k2");
        Path wrapped = dir.resolve("wrapped");
        Files.createDirectories(wrapped);
        for (String f : List.of("config.json", "tiktoken.model", "tokenizer_config.json")) {
            Files.copy(original.resolve(f), wrapped.resolve(f));
        }
        SafetensorsSurgery file = SafetensorsSurgery.read(original.resolve("model.safetensors"));
        List<Map.Entry<String, com.fasterxml.jackson.databind.JsonNode>> entries = new ArrayList<>();
        file.header.fields().forEachRemaining(entries::add);
        file.header.removeAll();
        for (var e : entries) {
            file.header.set(e.getKey().equals("__metadata__") ? e.getKey() : "language_model." + e.getKey(), e.getValue());
        }
        // an MTP layer past num_hidden_layers (3) and a vision tower, 16 bytes each, appended to the data
        int end = file.data.length;
        file.data = Arrays.copyOf(file.data, end + 32);
        addF32(file.header, "language_model.model.layers.3.input_layernorm.weight", end);
        addF32(file.header, "vision_tower.encoder.blocks.0.norm0.weight", end + 16);
        file.write(wrapped.resolve("model.safetensors"));

        int[] tokens = Arrays.copyOf(GoldenData.forwardCase("tiny-k2").prompt(), 12);
        float[][] expected = logits(original, tokens);
        try (Checkpoint c = Checkpoint.open(wrapped)) {
            assertTrue(c.find("model.embed_tokens.weight").isPresent());
            assertTrue(c.find("model.layers.3.input_layernorm.weight").isEmpty());
            assertTrue(c.tensors().keySet().stream().noneMatch(n -> n.startsWith("vision_tower") || n.startsWith("language_model.")));
        }
        float[][] actual = logits(wrapped, tokens);
        for (int r = 0; r < expected.length; r++) {
            assertArrayEquals(expected[r], actual[r], 0f);
        }
    }

    private static void addF32(ObjectNode header, String name, int begin) {
        ObjectNode e = header.putObject(name);
        e.put("dtype", "F32");
        e.putArray("shape").add(4);
        e.putArray("data_offsets").add(begin).add(begin + 16);
    }

    private static float[][] logits(Path checkpoint, int[] tokens) {
        try (Checkpoint c = Checkpoint.open(checkpoint)) {
            Transformer model = new Transformer(c.config(), ModelWeights.load(c));
            return model.step(List.of(new StepChunk(model.newSequence(), 0, tokens, true))).getFirst();
        }
    }
}
