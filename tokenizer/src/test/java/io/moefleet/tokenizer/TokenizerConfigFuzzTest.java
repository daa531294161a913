package io.moefleet.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.moefleet.chat.ChatTemplate;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.model.CheckpointException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * Any bytes as a checkpoint's {@code tokenizer_config.json} beside a good {@code tiktoken.model}: the configuration,
 * the tokenizer built from it and the chat template it names load (and the tokenizer round-trips its special tokens),
 * or fail with a {@link CheckpointException} naming the file.
 */
class TokenizerConfigFuzzTest {

    @TempDir
    static Path checkpoint;

    @BeforeAll
    static void writeCheckpoint() throws IOException {
        CheckpointWriter.write(Preset.config("tiny"), 3, WeightFormat.BF16, checkpoint);
    }

    @FuzzTest(maxDuration = "5s")
    @DictionaryEntries({"\"added_tokens_decoder\"", "\"content\"", "\"special\"", "\"bos_token\"", "\"eos_token\"",
            "\"pad_token\"", "\"additional_special_tokens\"", "\"add_bos_token\"", "\"chat_template\"", "\"name\"",
            "\"template\"", "\"tool_use\"", "\"1024\"", "\"1025\"", "\"[BOS]\"", "\"[EOS]\"", "\"<|im_end|>\"", "{{", "}}",
            "{%", "%}"})
    void anyTokenizerConfigLoadsOrFailsNamingTheFile(byte[] input) throws IOException {
        Path file = checkpoint.resolve(TokenizerConfig.FILE);
        Files.write(file, input);
        try {
            TokenizerConfig config = TokenizerConfig.read(checkpoint);
            config.templateTokens();
            config.addsBosToken();
            Map<String, String> templates = config.chatTemplates();
            try (TextTokenizer tokenizer = Tokenizers.load(checkpoint)) {
                for (Map.Entry<String, Integer> special : tokenizer.specialTokens().idsByText().entrySet()) {
                    int[] ids = tokenizer.encode(special.getKey(), true);
                    assertEquals(1, ids.length, () -> "special token '" + special.getKey() + "' encodes as one id");
                    assertEquals(special.getValue(), ids[0], () -> "the id of special token '" + special.getKey() + "'");
                }
            }
            if (!templates.isEmpty()) {
                ChatTemplate.read(checkpoint);
            }
        } catch (CheckpointException e) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(file.toString()), () -> "the error names the file: " + e.getMessage());
        }
    }
}
