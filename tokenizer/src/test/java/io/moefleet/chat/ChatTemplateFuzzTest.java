package io.moefleet.chat;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * Any chat ({@code {"messages": [...], "tools": [...], "add_generation_prompt": ..., "chat_template_kwargs": {...},
 * "continue_final_message": ...}}, as {@code ./fleet tokenize --chat} and the API's {@code /tokenize} take it) through
 * the generated checkpoint's Kimi chat template and tokenizer: token ids in the vocabulary, or an
 * {@link IllegalArgumentException} (a {@link ChatTemplateException} when the template refuses) that says what is
 * wrong. Input that is not JSON is no chat and ends there.
 */
class ChatTemplateFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path checkpoint;
    private static ChatEncoder encoder;

    @BeforeAll
    static void load() throws IOException {
        CheckpointWriter.write(Preset.config("tiny"), 3, WeightFormat.BF16, checkpoint);
        encoder = ChatEncoder.load(checkpoint);
    }

    @AfterAll
    static void close() {
        encoder.close();
    }

    @FuzzTest(maxDuration = "5s")
    @DictionaryEntries({"\"messages\"", "\"role\"", "\"content\"", "\"system\"", "\"user\"", "\"assistant\"", "\"tool\"",
            "\"tool_calls\"", "\"tool_call_id\"", "\"function\"", "\"arguments\"", "\"name\"", "\"type\"", "\"text\"",
            "\"tools\"", "\"parameters\"", "\"add_generation_prompt\"", "\"chat_template_kwargs\"", "\"thinking\"",
            "\"continue_final_message\"", "\"reasoning_content\"", "{{ x }}", "{% raw %}", "<|im_end|>", "true", "null"})
    void anyChatRendersOrSaysWhatIsWrong(byte[] input) {
        JsonNode request;
        try {
            request = JSON.readTree(input);
        } catch (IOException e) {
            return;                                          // not JSON: the CLI and the API say so as they read it
        }
        if (request == null) {
            return;
        }
        int[] ids;
        try {
            ids = encoder.encode(ChatPrompt.fromJson(request));
        } catch (IllegalArgumentException e) {
            assertTrue(!(e instanceof NumberFormatException) && e.getMessage() != null && !e.getMessage().isBlank(),
                    () -> "a clear error: " + e);
            return;
        }
        int vocab = encoder.tokenizer().vocabSize();
        for (int id : ids) {
            assertTrue(id >= 0 && id < vocab, () -> "token id " + id + " outside the vocabulary of " + vocab);
        }
    }
}
