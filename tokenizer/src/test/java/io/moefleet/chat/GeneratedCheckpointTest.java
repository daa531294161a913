package io.moefleet.chat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.tokenizer.SequenceMarkers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The checkpoints the project generates (cl100k-based ranks, Kimi template with thinking) load and render too. */
class GeneratedCheckpointTest {

    @TempDir
    Path dir;

    @Test
    void aGeneratedCheckpointRendersAToolConversationAndEncodesItLosslessly() throws IOException {
        CheckpointWriter.write(Preset.config("tiny"), 3, WeightFormat.BF16, dir);
        try (ChatEncoder encoder = ChatEncoder.load(dir)) {
            ChatPrompt prompt = ChatPrompt.fromJson(new ObjectMapper().readTree("""
                    {"messages": [
                      {"role": "user", "content": "Weather in Paris?"},
                      {"role": "assistant", "content": "", "reasoning_content": "Use the tool.",
                       "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
                      {"role": "tool", "tool_call_id": "functions.get_weather:0", "content": "18°C"}],
                     "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]}
                    """));
            String text = encoder.render(prompt);
            assertTrue(text.contains("<|im_assistant|>assistant<|im_middle|><think>Use the tool.</think><|tool_calls_section_begin|>"
                    + "<|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{\"city\": \"Paris\"}<|tool_call_end|>"), text);
            assertTrue(text.endsWith("## Return of functions.get_weather:0\n18°C<|im_end|><|im_assistant|>assistant<|im_middle|>"), text);
            int[] ids = encoder.encode(prompt);
            assertEquals(text, encoder.tokenizer().decode(ids));
            int imEnd = encoder.tokenizer().specialTokens().id("<|im_end|>").orElseThrow();
            // tool declaration, default system turn, user, assistant, tool: each ends with <|im_end|>, one token
            assertEquals(5, Arrays.stream(ids).filter(id -> id == imEnd).count());

            SequenceMarkers markers = encoder.tokenizer().sequenceMarkers();
            int firstSpecial = encoder.tokenizer().vocabSize() - 256;
            assertEquals(OptionalInt.of(firstSpecial), markers.bos());
            assertArrayEquals(new int[] {firstSpecial + 2, firstSpecial + 1}, markers.eos());
        }
    }
}
