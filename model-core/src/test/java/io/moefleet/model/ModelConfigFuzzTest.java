package io.moefleet.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/**
 * Any bytes as a checkpoint's {@code config.json}: {@link ModelConfig#read} gives a configuration whose numbers are
 * usable (no negative size, no infinite or NaN value, token ids in the vocabulary, derived head sizes that do not
 * overflow, a finite softmax scale), or fails with a {@link CheckpointException} naming the file.
 */
class ModelConfigFuzzTest {

    @TempDir
    static Path directory;

    @FuzzTest(maxDuration = "5s")
    @DictionaryEntries({"\"architectures\"", "\"DeepseekV3ForCausalLM\"", "\"text_config\"", "\"model_type\"", "\"kimi_k2\"",
            "\"vocab_size\"", "\"hidden_size\"", "\"num_hidden_layers\"", "\"n_routed_experts\"", "\"num_experts_per_tok\"",
            "\"q_lora_rank\"", "\"kv_lora_rank\"", "\"qk_rope_head_dim\"", "\"rope_scaling\"", "\"factor\"", "\"mscale\"",
            "\"mscale_all_dim\"", "\"type\"", "\"yarn\"", "\"quantization_config\"", "\"weight_block_size\"", "null", "1e999",
            "2147483647", "\"eos_token_id\"", "\"bos_token_id\"", "\"rope_theta\"", "\"rms_norm_eps\""})
    void anyConfigReadsOrFailsNamingTheFile(byte[] input) throws IOException, ReflectiveOperationException {
        Path file = directory.resolve("config.json");
        Files.write(file, input);
        ModelConfig config;
        try {
            config = ModelConfig.read(file);
        } catch (CheckpointException e) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(file.toString()), () -> "the error names the file: " + e.getMessage());
            return;
        }
        assertNumbersUsable(config);
        assertNumbersUsable(config.ropeScaling());
        for (int id : config.eosTokenIds()) {
            assertTrue(id >= 0 && id < config.vocabSize(), () -> "eos token id " + id + " outside the vocabulary of " + config);
        }
        assertTrue(config.bosTokenId() < config.vocabSize(), () -> "bos token id outside the vocabulary of " + config);
        double scale = config.softmaxScale();
        assertTrue(Double.isFinite(scale) && scale > 0, () -> "softmax scale " + scale + " of " + config);
        assertTrue(config.latentWidth() > 0 && config.qkHeadDim() > 0, () -> "head shapes of " + config);
    }

    /** Every number of a parsed record is usable: no negative count, no infinite or NaN value (NaN only for an absent attention_factor). */
    private static void assertNumbersUsable(Record parsed) throws ReflectiveOperationException {
        if (parsed == null) {
            return;
        }
        for (RecordComponent component : parsed.getClass().getRecordComponents()) {
            Object value = component.getAccessor().invoke(parsed);
            String what = component.getName() + " = " + value + " in " + parsed;
            if (value instanceof Integer n) {
                assertTrue(n >= 0, what);
            } else if (value instanceof Double x) {
                assertTrue(Double.isFinite(x) || Double.isNaN(x) && component.getName().equals("attentionFactor"), what);
            }
        }
    }
}
