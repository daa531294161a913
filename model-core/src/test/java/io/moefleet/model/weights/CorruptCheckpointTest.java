package io.moefleet.model.weights;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.model.CheckpointException;
import io.moefleet.model.GoldenData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every way a checkpoint can be broken gives a clear error naming the problem, never an out-of-bounds read or a hang. */
class CorruptCheckpointTest {

    private static final String NORM = "model.layers.1.input_layernorm.weight";
    private static final String Q_A = "model.layers.0.self_attn.q_a_proj.weight";

    @TempDir
    Path dir;

    private Path copyOf(String golden) throws IOException {
        Path target = dir.resolve(golden);
        Files.createDirectories(target);
        try (Stream<Path> files = Files.list(GoldenData.checkpoint(golden))) {
            for (Path f : files.toList()) {
                Files.copy(f, target.resolve(f.getFileName()));
            }
        }
        return target;
    }

    private Path damaged(Consumer<SafetensorsSurgery> damage) throws IOException {
        Path ckpt = copyOf("tiny-k2");
        SafetensorsSurgery file = SafetensorsSurgery.read(ckpt.resolve("model.safetensors"));
        damage.accept(file);
        file.write(ckpt.resolve("model.safetensors"));
        return ckpt;
    }

    /** Opens and binds the whole model, as every command does, and returns the error it must raise. */
    private static CheckpointException loadFails(Path ckpt) {
        return assertThrows(CheckpointException.class, () -> {
            try (Checkpoint c = Checkpoint.open(ckpt)) {
                ModelWeights.load(c);
            }
        });
    }

    private static void assertMentions(CheckpointException e, String... parts) {
        for (String part : parts) {
            assertTrue(e.getMessage().contains(part), "message should mention '" + part + "': " + e.getMessage());
        }
    }

    @Test
    void truncatedFile() throws IOException {
        Path ckpt = copyOf("tiny-k2");
        Path file = ckpt.resolve("model.safetensors");
        byte[] all = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(all, all.length / 2));
        assertMentions(loadFails(ckpt), "model.safetensors", "past the end", "truncated");
    }

    @Test
    void fileShorterThanItsHeaderLength() throws IOException {
        Path ckpt = copyOf("tiny-k2");
        Path file = ckpt.resolve("model.safetensors");
        Files.write(file, Arrays.copyOf(Files.readAllBytes(file), 100));
        assertMentions(loadFails(ckpt), "header length", "does not fit");
        Files.write(file, new byte[5]);
        assertMentions(loadFails(ckpt), "truncated");
    }

    @Test
    void headerThatIsNotJson() throws IOException {
        Path ckpt = copyOf("tiny-k2");
        SafetensorsSurgery.writeRaw(ckpt.resolve("model.safetensors"), "{\"a\": [1, 2".getBytes(StandardCharsets.UTF_8), new byte[16]);
        assertMentions(loadFails(ckpt), "header is not valid JSON");
    }

    @Test
    void headerOffsetsPastTheEnd() throws IOException {
        Path ckpt = damaged(f -> {
            long size = f.data.length;
            ObjectNode e = f.entry(NORM);
            e.putArray("data_offsets").add(size - 64).add(size + 64);
        });
        assertMentions(loadFails(ckpt), NORM, "past the end of the data");
    }

    @Test
    void offsetsThatDisagreeWithTheShape() throws IOException {
        Path ckpt = damaged(f -> {
            ObjectNode e = f.entry(NORM);
            long begin = e.get("data_offsets").get(0).asLong();
            e.putArray("data_offsets").add(begin).add(begin + 6);
        });
        assertMentions(loadFails(ckpt), NORM, "needs 128");
    }

    @Test
    void overlappingTensors() throws IOException {
        Path ckpt = damaged(f -> {
            ObjectNode a = f.entry(NORM);
            long begin = a.get("data_offsets").get(0).asLong();
            ObjectNode b = f.entry("model.layers.2.input_layernorm.weight");
            b.putArray("data_offsets").add(begin + 64).add(begin + 64 + 128);
        });
        assertMentions(loadFails(ckpt), "overlap", NORM, "model.layers.2.input_layernorm.weight");
    }

    @Test
    void unknownDtype() throws IOException {
        Path ckpt = damaged(f -> f.entry(NORM).put("dtype", "Q4_K"));
        assertMentions(loadFails(ckpt), NORM, "unknown dtype 'Q4_K'");
    }

    @Test
    void dtypeTheModelCannotUseThere() throws IOException {
        Path ckpt = damaged(f -> {
            ObjectNode e = f.entry(Q_A);   // BF16 [32, 64] = 4096 bytes, the same bytes as I16 or, halved, as I8
            e.put("dtype", "I16");
        });
        assertMentions(loadFails(ckpt), Q_A, "dtype I16", "expected BF16, F16, F32");
    }

    @Test
    void shapeThatDisagreesWithTheConfig() throws IOException {
        Path ckpt = damaged(f -> f.entry(Q_A).putArray("shape").add(64).add(32));
        assertMentions(loadFails(ckpt), Q_A, "[64, 32]", "implies [32, 64]", "q_lora_rank x hidden_size");
    }

    @Test
    void missingTensor() throws IOException {
        Path ckpt = damaged(f -> f.header.remove("model.layers.2.mlp.experts.7.down_proj.weight"));
        assertMentions(loadFails(ckpt), "missing tensor 'model.layers.2.mlp.experts.7.down_proj.weight'");
    }

    @Test
    void missingShard() throws IOException {
        Path ckpt = copyOf("tiny-k2-fp8");
        Files.delete(ckpt.resolve("model-00002-of-00002.safetensors"));
        assertMentions(loadFails(ckpt), "missing shard model-00002-of-00002.safetensors");
    }

    @Test
    void indexNamingATensorItsShardLacks() throws IOException {
        Path ckpt = copyOf("tiny-k2-fp8");
        Path index = ckpt.resolve("model.safetensors.index.json");
        Files.writeString(index, Files.readString(index).replace("\"weight_map\": {", "\"weight_map\": {\"model.extra.weight\": \"model-00001-of-00002.safetensors\", "));
        assertMentions(loadFails(ckpt), "model.extra.weight", "does not contain it");
    }

    @Test
    void fp8WeightWithoutItsScale() throws IOException {
        Path ckpt = copyOf("tiny-k2-fp8");
        String scale = "model.layers.0.self_attn.o_proj.weight_scale_inv";
        String index = Files.readString(ckpt.resolve("model.safetensors.index.json"));
        String shard = index.replaceAll("(?s).*\"" + scale.replace(".", "\\.") + "\": \"([^\"]+)\".*", "$1");
        SafetensorsSurgery f = SafetensorsSurgery.read(ckpt.resolve(shard));
        f.header.remove(scale);
        f.write(ckpt.resolve(shard));
        Files.writeString(ckpt.resolve("model.safetensors.index.json"), index.replace("\"" + scale + "\": \"" + shard + "\",", ""));
        assertMentions(loadFails(ckpt), "missing tensor '" + scale + "'");
    }

    @Test
    void noWeightsAtAll() throws IOException {
        Path ckpt = copyOf("tiny-k2");
        Files.delete(ckpt.resolve("model.safetensors"));
        assertMentions(loadFails(ckpt), "neither model.safetensors nor model.safetensors.index.json");
    }

    @Test
    void missingConfig() throws IOException {
        Path ckpt = copyOf("tiny-k2");
        Files.delete(ckpt.resolve("config.json"));
        assertMentions(loadFails(ckpt), "no config.json");
    }
}
