package io.moefleet.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/**
 * Any bytes as a checkpoint's {@code config.json}: {@link ModelConfig#read} gives a configuration whose derived shapes
 * are usable (positive sizes, a finite softmax scale), or fails with a {@link CheckpointException} naming the file.
 */
class ModelConfigFuzzTest {

    @TempDir
    static Path directory;

    @FuzzTest(maxDuration = "5s")
    @DictionaryEntries({"\"architectures\"", "\"DeepseekV3ForCausalLM\"", "\"text_config\"", "\"model_type\"", "\"kimi_k2\"",
            "\"vocab_size\"", "\"hidden_size\"", "\"num_hidden_layers\"", "\"n_routed_experts\"", "\"num_experts_per_tok\"",
            "\"q_lora_rank\"", "\"kv_lora_rank\"", "\"qk_rope_head_dim\"", "\"rope_scaling\"", "\"factor\"", "\"mscale\"",
            "\"mscale_all_dim\"", "\"type\"", "\"yarn\"", "\"quantization_config\"", "\"weight_block_size\"", "null", "1e308"})
    void anyConfigReadsOrFailsNamingTheFile(byte[] input) throws IOException {
        Path file = directory.resolve("config.json");
        Files.write(file, input);
        ModelConfig config;
        try {
            config = ModelConfig.read(file);
        } catch (CheckpointException e) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(file.toString()), () -> "the error names the file: " + e.getMessage());
            return;
        }
        double scale = config.softmaxScale();
        assertTrue(Double.isFinite(scale) && scale > 0, () -> "softmax scale " + scale + " of " + config);
        assertTrue(config.latentWidth() > 0 && config.qkHeadDim() > 0, () -> "head shapes of " + config);
        for (int layer = 0; layer < Math.min(config.numHiddenLayers(), 8); layer++) {
            config.isMoeLayer(layer);
        }
    }
}
