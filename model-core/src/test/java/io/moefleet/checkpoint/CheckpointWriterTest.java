package io.moefleet.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointWriterTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    // ---- a minimal safetensors reader, independent of the writer's code ----

    record Entry(String file, String dtype, long[] shape, ByteBuffer data) {
        float[] floats() {
            float[] values = new float[data.remaining() / 4];
            data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
            return values;
        }

        float[] bf16() {
            float[] values = new float[data.remaining() / 2];
            ByteBuffer b = data.duplicate().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < values.length; i++) {
                values[i] = Float.intBitsToFloat((b.getShort() & 0xFFFF) << 16);
            }
            return values;
        }

        int[] ints() {
            int[] values = new int[data.remaining() / 4];
            data.duplicate().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(values);
            return values;
        }

        byte[] bytes() {
            byte[] values = new byte[data.remaining()];
            data.duplicate().get(values);
            return values;
        }

        /** Values of a float tensor whatever its dtype. */
        float[] values() {
            return switch (dtype) {
                case "F32" -> floats();
                case "BF16" -> bf16();
                default -> throw new AssertionError(dtype + " is not a float dtype");
            };
        }
    }

    /** All entries of a checkpoint directory, in file order, from model.safetensors or the index's shards. */
    static Map<String, Entry> readWeights(Path dir) throws IOException {
        List<String> files = new ArrayList<>();
        Path index = dir.resolve("model.safetensors.index.json");
        if (Files.exists(index)) {
            JSON.readTree(index.toFile()).get("weight_map").forEach(f -> {
                if (!files.contains(f.asText())) {
                    files.add(f.asText());
                }
            });
        } else {
            files.add("model.safetensors");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (String file : files) {
            entries.putAll(readFile(dir.resolve(file)));
        }
        return entries;
    }

    static Map<String, Entry> readFile(Path file) throws IOException {
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = all.getLong(0);
        assertEquals(0, headerLength % 8, "header padded to a multiple of 8");
        String headerText = new String(all.array(), 8, (int) headerLength, StandardCharsets.UTF_8);
        JsonNode header = JSON.readTree(headerText);
        assertEquals("pt", header.get("__metadata__").get("format").asText());
        int dataStart = 8 + (int) headerLength;
        Map<String, Entry> entries = new LinkedHashMap<>();
        long expectedBegin = 0;
        for (Map.Entry<String, JsonNode> field : header.properties()) {
            if (field.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode node = field.getValue();
            long[] shape = new long[node.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = node.get("shape").get(i).asLong();
            }
            long begin = node.get("data_offsets").get(0).asLong();
            long end = node.get("data_offsets").get(1).asLong();
            assertEquals(expectedBegin, begin, field.getKey() + " packed after the previous tensor");
            long elements = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
            int elementBytes = switch (node.get("dtype").asText()) {
                case "F32", "I32" -> 4;
                case "BF16" -> 2;
                case "F8_E4M3" -> 1;
                default -> throw new AssertionError("unexpected dtype " + node.get("dtype"));
            };
            assertEquals(elements * elementBytes, end - begin, field.getKey() + " size");
            expectedBegin = end;
            ByteBuffer data = all.slice(dataStart + (int) begin, (int) (end - begin));
            entries.put(field.getKey(), new Entry(file.getFileName().toString(), node.get("dtype").asText(), shape, data));
        }
        assertEquals(all.capacity() - dataStart, expectedBegin, "no bytes after the last tensor");
        return entries;
    }

    static JsonNode readJson(Path file) throws IOException {
        return JSON.readTree(file.toFile());
    }

    private Path write(String preset, long seed, WeightFormat format, String dirName) throws IOException {
        Path dir = tmp.resolve(dirName);
        CheckpointWriter.writeWithTwin(Preset.config(preset), seed, format, dir);
        return dir;
    }

    // ---- determinism ----

    @Test
    void sameSeedAndFormatGiveIdenticalFilesAndAnotherSeedDoesNot() throws IOException {
        for (WeightFormat format : WeightFormat.values()) {
            Path a = write("tiny", 7, format, format + "-a");
            Path b = write("tiny", 7, format, format + "-b");
            Path c = write("tiny", 8, format, format + "-c");
            assertSameFiles(a, b);
            if (format != WeightFormat.F32) {
                assertSameFiles(CheckpointWriter.twinDirectory(a), CheckpointWriter.twinDirectory(b));
            }
            assertFalse(Arrays.equals(Files.readAllBytes(a.resolve("model.safetensors")),
                    Files.readAllBytes(c.resolve("model.safetensors"))), format + ": seed 8 must differ from seed 7");
        }
    }

    private static void assertSameFiles(Path a, Path b) throws IOException {
        List<Path> files;
        try (Stream<Path> list = Files.list(a)) {
            files = list.sorted().toList();
        }
        assertTrue(files.size() >= 5);
        for (Path file : files) {
            assertArrayEquals(Files.readAllBytes(file), Files.readAllBytes(b.resolve(file.getFileName())),
                    file.getFileName() + " differs between two writes of the same seed");
        }
    }

    @Test
    void aTensorDependsOnlyOnSeedAndNameNotOnTheRestOfTheModel() throws IOException {
        Path full = write("tiny", 11, WeightFormat.F32, "full");
        ObjectNode fewerLayers = Preset.config("tiny");
        fewerLayers.put("num_hidden_layers", 2);
        fewerLayers.put("n_routed_experts", 9);
        Path smaller = tmp.resolve("smaller");
        CheckpointWriter.write(fewerLayers, 11, WeightFormat.F32, smaller);
        Map<String, Entry> a = readWeights(full);
        Map<String, Entry> b = readWeights(smaller);
        for (String name : List.of("model.embed_tokens.weight", "model.layers.1.mlp.experts.3.up_proj.weight",
                "model.layers.1.self_attn.kv_b_proj.weight", "lm_head.weight")) {
            assertArrayEquals(a.get(name).bytes(), b.get(name).bytes(), name);
        }
    }

    @Test
    void formatsOfOneSeedHoldTheSameModelUpToRounding() throws IOException {
        Map<String, Entry> f32 = readWeights(write("tiny", 5, WeightFormat.F32, "f32"));
        Map<String, Entry> bf16 = readWeights(write("tiny", 5, WeightFormat.BF16, "bf16"));
        for (String name : f32.keySet()) {
            float[] exact = f32.get(name).floats();
            float[] rounded = bf16.get(name).values();
            for (int i = 0; i < exact.length; i++) {
                float expected = name.endsWith("e_score_correction_bias") ? exact[i] : Bf16.round(exact[i]);
                assertEquals(expected, rounded[i], 0f, name + "[" + i + "]");
            }
        }
    }

    @Test
    void valuesFollowTheirIntendedDistributions() throws IOException {
        Map<String, Entry> w = readWeights(write("tiny", 3, WeightFormat.F32, "dist"));
        assertMoments(w.get("model.embed_tokens.weight").floats(), 0, 1);
        assertMoments(w.get("model.layers.1.mlp.experts.0.down_proj.weight").floats(), 0, 1 / Math.sqrt(44));
        assertMoments(w.get("lm_head.weight").floats(), 0, 1 / Math.sqrt(80));
        assertMoments(w.get("model.layers.0.mlp.gate_proj.weight").floats(), 0, 1 / Math.sqrt(80));
        float[] norms = concat(w.get("model.norm.weight").floats(), w.get("model.layers.0.input_layernorm.weight").floats(),
                w.get("model.layers.2.post_attention_layernorm.weight").floats());
        assertMoments(norms, 1, 0.1);
        float[] bias = concat(w.get("model.layers.1.mlp.gate.e_score_correction_bias").floats(),
                w.get("model.layers.2.mlp.gate.e_score_correction_bias").floats());
        assertMoments(bias, 0, 0.05);
    }

    private static float[] concat(float[]... parts) {
        float[] all = new float[Arrays.stream(parts).mapToInt(p -> p.length).sum()];
        int at = 0;
        for (float[] part : parts) {
            System.arraycopy(part, 0, all, at, part.length);
            at += part.length;
        }
        return all;
    }

    private static void assertMoments(float[] values, double mean, double std) {
        double sum = 0;
        double squares = 0;
        for (float v : values) {
            sum += v;
            squares += v * v;
        }
        double m = sum / values.length;
        double s = Math.sqrt(squares / values.length - m * m);
        assertEquals(mean, m, 5 * std / Math.sqrt(values.length) + 1e-9, "mean");
        assertEquals(std, s, std * 0.25, "standard deviation");
    }

    // ---- header structure per format ----

    @Test
    void f32AndBf16HeadersHaveHfNamesAndShapes() throws IOException {
        Map<String, Entry> f32 = readWeights(write("tiny", 1, WeightFormat.F32, "f32"));
        assertEquals(127, f32.size(), "1 + (9 + 3) + 2 * (9 + 2 + 14 * 3 + 3) + 2 tensors");
        assertShape(f32, "model.embed_tokens.weight", 1280, 80);
        assertShape(f32, "model.layers.0.input_layernorm.weight", 80);
        assertShape(f32, "model.layers.0.self_attn.q_a_proj.weight", 56, 80);
        assertShape(f32, "model.layers.0.self_attn.q_a_layernorm.weight", 56);
        assertShape(f32, "model.layers.0.self_attn.q_b_proj.weight", 96, 56);
        assertShape(f32, "model.layers.0.self_attn.kv_a_proj_with_mqa.weight", 52, 80);
        assertShape(f32, "model.layers.0.self_attn.kv_a_layernorm.weight", 40);
        assertShape(f32, "model.layers.0.self_attn.kv_b_proj.weight", 144, 40);
        assertShape(f32, "model.layers.0.self_attn.o_proj.weight", 80, 84);
        assertShape(f32, "model.layers.0.mlp.gate_proj.weight", 152, 80);
        assertShape(f32, "model.layers.0.mlp.up_proj.weight", 152, 80);
        assertShape(f32, "model.layers.0.mlp.down_proj.weight", 80, 152);
        assertShape(f32, "model.layers.2.mlp.gate.weight", 14, 80);
        assertShape(f32, "model.layers.2.mlp.gate.e_score_correction_bias", 14);
        assertShape(f32, "model.layers.2.mlp.experts.13.gate_proj.weight", 44, 80);
        assertShape(f32, "model.layers.2.mlp.experts.13.down_proj.weight", 80, 44);
        assertShape(f32, "model.layers.2.mlp.shared_experts.up_proj.weight", 44, 80);
        assertShape(f32, "model.layers.2.mlp.shared_experts.down_proj.weight", 80, 44);
        assertShape(f32, "model.norm.weight", 80);
        assertShape(f32, "lm_head.weight", 1280, 80);
        assertFalse(f32.containsKey("model.layers.1.mlp.experts.14.gate_proj.weight"));
        assertFalse(f32.containsKey("model.layers.0.mlp.gate.weight"));
        f32.values().forEach(e -> assertEquals("F32", e.dtype()));
        assertEquals(List.of("model.embed_tokens.weight", "model.layers.0.input_layernorm.weight"),
                f32.keySet().stream().limit(2).toList(), "Hugging Face file order");

        Map<String, Entry> bf16 = readWeights(write("tiny", 1, WeightFormat.BF16, "bf16"));
        assertEquals(f32.keySet(), bf16.keySet());
        bf16.forEach((name, e) -> {
            assertEquals(name.endsWith("e_score_correction_bias") ? "F32" : "BF16", e.dtype(), name);
            assertArrayEquals(f32.get(name).shape(), e.shape(), name);
        });
    }

    @Test
    void tinyAltHasPlainQProjGroupedRoutingTwoSharedExpertsAndTwoDenseLayers() throws IOException {
        Path dir = write("tiny-alt", 1, WeightFormat.F32, "alt");
        Map<String, Entry> w = readWeights(dir);
        assertEquals(143, w.size(), "1 + 2 * (7 + 3) + 2 * (7 + 2 + 16 * 3 + 3) + 2 tensors");
        assertShape(w, "model.layers.0.self_attn.q_proj.weight", 140, 72);
        assertFalse(w.containsKey("model.layers.0.self_attn.q_a_proj.weight"));
        assertShape(w, "model.layers.1.mlp.down_proj.weight", 72, 136);
        assertShape(w, "model.layers.2.mlp.shared_experts.gate_proj.weight", 76, 72);
        assertShape(w, "model.layers.3.mlp.experts.15.down_proj.weight", 72, 38);
        JsonNode config = readJson(dir.resolve("config.json"));
        assertEquals("deepseek_v3", config.get("model_type").asText());
        assertTrue(config.get("rope_scaling").isNull());
        assertTrue(config.get("q_lora_rank").isNull());
        assertNull(config.get("quantization_config"), "an F32 checkpoint has no quantization_config");
        assertNull(config.get(QuantizationSettings.INT4_GROUP_SIZE_KEY), "the writer's own key is not written");
        assertEquals("float32", config.get("torch_dtype").asText());
    }

    @Test
    void fp8HeaderQuantisesDecoderProjectionsWithBlockScales() throws IOException {
        Path dir = write("tiny-alt", 2, WeightFormat.FP8, "fp8");
        Map<String, Entry> w = readWeights(dir);
        for (Map.Entry<String, Entry> e : w.entrySet()) {
            String name = e.getKey();
            boolean projection = name.matches("model\\.layers\\.\\d+\\.(self_attn|mlp)\\..*_proj(_with_mqa)?\\.weight");
            String expected = projection ? "F8_E4M3"
                    : name.endsWith("_scale_inv") || name.endsWith("e_score_correction_bias") ? "F32" : "BF16";
            assertEquals(expected, e.getValue().dtype(), name);
            if (projection) {
                long[] shape = e.getValue().shape();
                Entry scale = w.get(name + "_scale_inv");
                assertNotNull(scale, name + "_scale_inv");
                assertArrayEquals(new long[] {Math.ceilDiv(shape[0], 32), Math.ceilDiv(shape[1], 24)}, scale.shape(), name);
                for (byte code : e.getValue().bytes()) {
                    assertTrue((code & 0x7F) != 0x7F, name + " holds a NaN code");
                }
            }
        }
        assertShape(w, "model.layers.0.self_attn.o_proj.weight_scale_inv", 3, 5); // [72, 110] in 32 x 24 blocks
        assertShape(w, "model.layers.2.mlp.experts.0.down_proj.weight_scale_inv", 3, 2); // [72, 38]
        JsonNode qc = readJson(dir.resolve("config.json")).get("quantization_config");
        assertEquals("fp8", qc.get("quant_method").asText());
        assertEquals("e4m3", qc.get("fmt").asText());
        assertEquals("dynamic", qc.get("activation_scheme").asText());
        assertEquals("[32,24]", qc.get("weight_block_size").toString());

        JsonNode tinyQc = readJson(write("tiny", 2, WeightFormat.FP8, "tiny-fp8").resolve("config.json"))
                .get("quantization_config");
        assertEquals("[128,128]", tinyQc.get("weight_block_size").toString(), "released block size by default");
    }

    @Test
    void int4HeaderPacksOnlyRoutedExperts() throws IOException {
        Path dir = write("tiny-alt", 2, WeightFormat.INT4, "int4");
        Map<String, Entry> w = readWeights(dir);
        for (Map.Entry<String, Entry> e : w.entrySet()) {
            String name = e.getKey();
            String expected;
            if (name.contains(".mlp.experts.")) {
                expected = name.endsWith(".weight_scale") ? "BF16" : "I32";
                assertTrue(name.matches(".*_proj\\.weight_(packed|scale|shape)"), name);
            } else {
                expected = name.endsWith("e_score_correction_bias") ? "F32" : "BF16";
            }
            assertEquals(expected, e.getValue().dtype(), name);
        }
        String up = "model.layers.2.mlp.experts.5.up_proj";
        assertShape(w, up + ".weight_packed", 38, 9);
        assertShape(w, up + ".weight_scale", 38, 5);
        assertShape(w, up + ".weight_shape", 2);
        assertArrayEquals(new int[] {38, 72}, w.get(up + ".weight_shape").ints());
        String down = "model.layers.3.mlp.experts.15.down_proj";
        assertShape(w, down + ".weight_packed", 72, 5);
        assertShape(w, down + ".weight_scale", 72, 3);
        assertArrayEquals(new int[] {72, 38}, w.get(down + ".weight_shape").ints());
        assertShape(w, "model.layers.2.mlp.shared_experts.down_proj.weight", 72, 76);
        assertShape(w, "model.layers.0.mlp.gate_proj.weight", 136, 72);

        JsonNode qc = readJson(dir.resolve("config.json")).get("quantization_config");
        assertEquals("compressed-tensors", qc.get("quant_method").asText());
        assertEquals("pack-quantized", qc.get("format").asText());
        JsonNode weights = qc.get("config_groups").get("group_0").get("weights");
        assertEquals(16, weights.get("group_size").asInt());
        assertEquals(4, weights.get("num_bits").asInt());
        assertTrue(weights.get("symmetric").asBoolean());
        assertEquals("[\"lm_head\",\"re:.*self_attn.*\",\"re:.*shared_experts.*\",\"re:.*mlp\\\\.(gate|up|gate_up|down)_proj.*\"]",
                qc.get("ignore").toString());
        assertEquals(32, readJson(write("tiny", 2, WeightFormat.INT4, "tiny-int4").resolve("config.json"))
                .at("/quantization_config/config_groups/group_0/weights/group_size").asInt(), "released group by default");
    }

    private static void assertShape(Map<String, Entry> weights, String name, long... shape) {
        assertNotNull(weights.get(name), name + " missing");
        assertArrayEquals(shape, weights.get(name).shape(), name);
    }

    // ---- dequantised twins ----

    @Test
    void fp8TwinIsWhatTheStoredBlocksDecodeTo() throws IOException {
        List<Path> dirs = CheckpointWriter.write(Preset.config("tiny-alt"), 4, WeightFormat.FP8, tmp.resolve("q"));
        assertEquals(List.of(tmp.resolve("q"), tmp.resolve("q-f32")), dirs);
        Map<String, Entry> stored = readWeights(dirs.get(0));
        Map<String, Entry> twin = readWeights(dirs.get(1));
        Map<String, Entry> exact = readWeights(write("tiny-alt", 4, WeightFormat.F32, "exact"));
        assertEquals(exact.keySet(), twin.keySet(), "the twin has the F32 layout");
        twin.values().forEach(e -> assertEquals("F32", e.dtype()));
        assertNull(readJson(dirs.get(1).resolve("config.json")).get("quantization_config"));
        for (String name : List.of("model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.o_proj.weight",
                "model.layers.1.mlp.down_proj.weight", "model.layers.3.mlp.experts.7.down_proj.weight",
                "model.layers.2.mlp.shared_experts.gate_proj.weight")) {
            Entry q = stored.get(name);
            float[] scales = stored.get(name + "_scale_inv").floats();
            int rows = (int) q.shape()[0];
            int cols = (int) q.shape()[1];
            int blockCols = Math.ceilDiv(cols, 24);
            byte[] codes = q.bytes();
            float[] twinValues = twin.get(name).floats();
            float[] exactValues = exact.get(name).floats();
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < cols; c++) {
                    float scale = scales[(r / 32) * blockCols + c / 24];
                    float decoded = NumberFormatsTest.e4m3Value(codes[r * cols + c] & 0xFF) * scale;
                    assertEquals(decoded, twinValues[r * cols + c], 0f, name + "[" + r + "," + c + "]");
                    float w = exactValues[r * cols + c];
                    assertEquals(w, decoded, Math.abs(w) * (1 / 16f + 1e-6f) + scale * 0x1p-10f, "close to the draw");
                }
            }
        }
        for (String name : List.of("model.embed_tokens.weight", "model.layers.2.mlp.gate.weight", "lm_head.weight",
                "model.layers.3.self_attn.kv_a_layernorm.weight", "model.layers.2.mlp.gate.e_score_correction_bias")) {
            assertArrayEquals(stored.get(name).values(), twin.get(name).floats(), name);
        }
    }

    @Test
    void int4TwinIsWhatThePackedGroupsDecodeTo() throws IOException {
        List<Path> dirs = CheckpointWriter.write(Preset.config("tiny-alt"), 4, WeightFormat.INT4, tmp.resolve("q"));
        Map<String, Entry> stored = readWeights(dirs.get(0));
        Map<String, Entry> twin = readWeights(dirs.get(1));
        for (String prefix : List.of("model.layers.2.mlp.experts.0.gate_proj", "model.layers.3.mlp.experts.11.down_proj")) {
            int[] shape = stored.get(prefix + ".weight_shape").ints();
            int rows = shape[0];
            int cols = shape[1];
            int[] packed = stored.get(prefix + ".weight_packed").ints();
            float[] scales = stored.get(prefix + ".weight_scale").bf16();
            int words = Math.ceilDiv(cols, 8);
            int groups = Math.ceilDiv(cols, 16);
            float[] twinValues = twin.get(prefix + ".weight").floats();
            for (int r = 0; r < rows; r++) {
                for (int c = 0; c < words * 8; c++) {
                    int q = ((packed[r * words + c / 8] >>> (4 * (c % 8))) & 0xF) - 8;
                    if (c >= cols) {
                        assertEquals(0, q, prefix + ": padding nibbles hold 0");
                        continue;
                    }
                    assertEquals(q * scales[r * groups + c / 16], twinValues[r * cols + c], 0f, prefix + "[" + r + "," + c + "]");
                }
            }
        }
        for (String name : List.of("model.layers.2.mlp.shared_experts.down_proj.weight", "model.layers.0.self_attn.q_proj.weight")) {
            assertArrayEquals(stored.get(name).bf16(), twin.get(name).floats(), name);
        }
    }

    @Test
    void bf16TwinIsTheBf16ValuesAndF32HasNoTwin() throws IOException {
        assertEquals(List.of(tmp.resolve("plain")), CheckpointWriter.write(Preset.config("tiny"), 9, WeightFormat.BF16, tmp.resolve("plain")),
                "BF16 writes its twin only on request");
        List<Path> dirs = CheckpointWriter.writeWithTwin(Preset.config("tiny"), 9, WeightFormat.BF16, tmp.resolve("b"));
        Map<String, Entry> stored = readWeights(dirs.get(0));
        Map<String, Entry> twin = readWeights(dirs.get(1));
        stored.forEach((name, e) -> assertArrayEquals(e.values(), twin.get(name).floats(), name));
        assertEquals(List.of(tmp.resolve("f")),
                CheckpointWriter.write(Preset.config("tiny"), 9, WeightFormat.F32, tmp.resolve("f")));
        assertFalse(Files.exists(tmp.resolve("f-f32")));
    }

    // ---- sharding ----

    @Test
    void largeCheckpointsAreShardedWithAnIndex() throws IOException {
        Path dir = tmp.resolve("sharded");
        long limit = 100_000;
        CheckpointWriter.write(Preset.config("tiny"), 6, WeightFormat.FP8, dir, true, limit);
        assertFalse(Files.exists(dir.resolve("model.safetensors")));
        JsonNode index = readJson(dir.resolve("model.safetensors.index.json"));
        Map<String, String> weightMap = new HashMap<>();
        index.get("weight_map").properties().forEach(e -> weightMap.put(e.getKey(), e.getValue().asText()));
        List<String> shardFiles = weightMap.values().stream().distinct().sorted().toList();
        assertTrue(shardFiles.size() > 3, "expected several shards, got " + shardFiles);
        for (int i = 0; i < shardFiles.size(); i++) {
            assertEquals("model-%05d-of-%05d.safetensors".formatted(i + 1, shardFiles.size()), shardFiles.get(i));
        }
        long total = 0;
        for (String file : shardFiles) {
            Map<String, Entry> entries = readFile(dir.resolve(file));
            long bytes = entries.values().stream().mapToLong(e -> e.data().remaining()).sum();
            assertTrue(bytes <= limit || entries.size() <= 2, file + " holds " + bytes + " bytes in " + entries.size() + " tensors");
            entries.keySet().forEach(name -> assertEquals(file, weightMap.get(name), name));
            total += bytes;
        }
        assertEquals(total, index.get("metadata").get("total_size").asLong());
        Map<String, Entry> sharded = readWeights(dir);
        assertEquals(weightMap.keySet(), sharded.keySet());
        sharded.keySet().stream().filter(n -> n.endsWith("_scale_inv")).forEach(scale -> assertEquals(
                sharded.get(scale).file(), sharded.get(scale.replace("_scale_inv", "")).file(), "a weight and its scales share a file"));

        // the same checkpoint unsharded holds the same bytes, and replaces the shards
        CheckpointWriter.write(Preset.config("tiny"), 6, WeightFormat.FP8, dir);
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of("model.safetensors"), files.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith("model")).toList(), "old shards and index removed");
        }
        Map<String, Entry> single = readWeights(dir);
        sharded.forEach((name, e) -> assertArrayEquals(e.bytes(), single.get(name).bytes(), name));
    }

    // ---- config files ----

    @Test
    void configAndGenerationConfigCarryTheTokenizerIds() throws IOException {
        Path dir = write("tiny", 1, WeightFormat.BF16, "cfg");
        JsonNode config = readJson(dir.resolve("config.json"));
        assertEquals(1024, config.get("bos_token_id").asInt());
        assertEquals(1025, config.get("eos_token_id").asInt());
        assertEquals("bfloat16", config.get("torch_dtype").asText());
        assertNull(config.get("quantization_config"));
        assertEquals(Preset.config("tiny").get("rope_scaling"), config.get("rope_scaling"));
        JsonNode generation = readJson(dir.resolve("generation_config.json"));
        assertEquals(1024, generation.get("bos_token_id").asInt());
        assertEquals("[1026,1025]", generation.get("eos_token_id").toString());
        assertEquals(1279, generation.get("pad_token_id").asInt());
        assertEquals(131072, generation.get("max_length").asInt());
        assertFalse(generation.get("do_sample").asBoolean());
        JsonNode twinConfig = readJson(CheckpointWriter.twinDirectory(dir).resolve("config.json"));
        assertEquals("float32", twinConfig.get("torch_dtype").asText());
    }

    @Test
    void givenConfigIsNotModifiedAndBadConfigsFailClearly() throws IOException {
        ObjectNode config = Preset.config("tiny-alt");
        String before = config.toString();
        CheckpointWriter.write(config, 1, WeightFormat.INT4, tmp.resolve("x"));
        assertEquals(before, config.toString());

        ObjectNode odd = Preset.config("tiny");
        odd.put("qk_rope_head_dim", 11);
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> CheckpointWriter.write(odd, 1, WeightFormat.F32, tmp.resolve("y"))).getMessage().contains("qk_rope_head_dim"));
        ObjectNode missing = Preset.config("tiny");
        missing.remove("hidden_size");
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> CheckpointWriter.write(missing, 1, WeightFormat.F32, tmp.resolve("z"))).getMessage().contains("hidden_size"));
    }
}
