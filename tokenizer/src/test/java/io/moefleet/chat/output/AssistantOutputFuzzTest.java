package io.moefleet.chat.output;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Any model output through the reasoning and tool-call parsers: they never throw, and the message is the same whole,
 * character by character and in chunks of a few characters, its deltas concatenating to it every time.
 *
 * <p>The input's first byte chooses the parsers' settings (bit 0: the output starts in reasoning, bit 1: the request
 * declares tools, so a tool-calls section is parsed; '0' to '3' spell them readably in the corpus), the rest is the
 * output as UTF-8.
 */
class AssistantOutputFuzzTest {

    private static final Set<String> TOOLS = Set.of("get_weather", "get_time");

    @FuzzTest(maxDuration = "5s")
    @DictionaryEntries({"<think>", "</think>", "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>",
            "<|tool_call_begin|>", "<|tool_call_argument_begin|>", "<|tool_call_end|>", "functions.get_weather:0",
            "functions.get_time:1", "{\"city\": \"Paris\"}"})
    void anyOutputParsesTheSameHoweverItIsCut(byte[] input) {
        if (input.length == 0) {
            return;
        }
        boolean thinking = (input[0] & 1) != 0;
        Set<String> tools = (input[0] & 2) != 0 ? TOOLS : Set.of();
        String output = new String(input, 1, input.length - 1, StandardCharsets.UTF_8);

        ParsedOutput whole = ParsedOutput.parse(List.of(output), thinking, tools);
        assertEquals(whole.message(), whole.reassembled(), "the deltas of the whole output");
        for (int size : new int[] {1, 2, 3, 7}) {
            List<String> chunks = chunks(output, size);
            ParsedOutput cut = ParsedOutput.parse(chunks, thinking, tools);
            assertEquals(whole.message(), cut.message(), () -> "the output in chunks " + chunks);
            assertEquals(cut.message(), cut.reassembled(), () -> "the deltas of the output in chunks " + chunks);
        }
    }

    /** The text in pieces of {@code size} chars (a surrogate pair may be split, as a streaming decoder never does: harmless here). */
    private static List<String> chunks(String text, int size) {
        List<String> pieces = new ArrayList<>();
        for (int at = 0; at < text.length(); at += size) {
            pieces.add(text.substring(at, Math.min(text.length(), at + size)));
        }
        return pieces;
    }
}
