package io.moefleet.chat.output;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.tokenizer.StreamingDecoder;
import io.moefleet.tokenizer.TextTokenizer;
import io.moefleet.tokenizer.Tokenizers;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Recorded Kimi K2 outputs through the reasoning and tool-call parsers, cut every way: as the generated checkpoint's
 * tokens with markers as their special tokens, as tokens with markers spelled in ordinary tokens (so a marker arrives
 * split), and as text cut anywhere. Every cutting gives the same message, and the deltas concatenate to it.
 */
class AssistantOutputParserTest {

    private static final Set<String> TOOLS = Set.of("get_weather", "get_time", "write_file");
    private static final String BEGIN = KimiMarkers.TOOL_CALLS_BEGIN;
    private static final String END = KimiMarkers.TOOL_CALLS_END;
    private static final String CALL = KimiMarkers.TOOL_CALL_BEGIN;
    private static final String ARGS = KimiMarkers.TOOL_CALL_ARGUMENTS;
    private static final String CALL_END = KimiMarkers.TOOL_CALL_END;

    @TempDir
    static Path checkpoint;
    private static TextTokenizer tokenizer;

    @BeforeAll
    static void writeCheckpoint() throws IOException {
        CheckpointWriter.write(Preset.config("tiny"), 5, WeightFormat.BF16, checkpoint);
        tokenizer = Tokenizers.load(checkpoint);
    }

    @AfterAll
    static void close() {
        tokenizer.close();
    }

    @Test
    void severalCallsAfterContent() {
        String output = "I'll check both." + BEGIN + CALL + "functions.get_weather:0" + ARGS
                + "{\"city\": \"Paris\", \"unit\": \"celsius\"}" + CALL_END + "\n" + CALL + " functions.get_time:1 " + ARGS
                + "{\"timezone\": \"Europe/Paris\"}" + CALL_END + END;
        AssistantMessage message = checkEveryChunking(output, false);
        assertEquals(new AssistantMessage("", "I'll check both.", List.of(
                valid(0, "functions.get_weather:0", "get_weather", "{\"city\": \"Paris\", \"unit\": \"celsius\"}"),
                valid(1, "functions.get_time:1", "get_time", "{\"timezone\": \"Europe/Paris\"}"))), message);
    }

    @Test
    void reasoningThenContentThenACall() {
        String output = "<think>The user wants Tokyo's weather; 1 < 2 and </thin are not markers.</think>Let me look that up."
                + BEGIN + CALL + "functions.get_weather:2" + ARGS + "{\"city\": \"東京\", \"unit\": \"celsius\"}" + CALL_END + END;
        AssistantMessage message = checkEveryChunking(output, true);
        assertEquals(new AssistantMessage("The user wants Tokyo's weather; 1 < 2 and </thin are not markers.", "Let me look that up.",
                List.of(valid(0, "functions.get_weather:2", "get_weather", "{\"city\": \"東京\", \"unit\": \"celsius\"}"))), message);
    }

    @Test
    void aToolCallsSectionEndsReasoningThatThePromptOpened() {
        String output = "I need the time first." + BEGIN + CALL + "functions.get_time:0" + ARGS + "{}" + CALL_END + END;
        AssistantMessage message = checkEveryChunking(output, true);
        assertEquals(new AssistantMessage("I need the time first.", "", List.of(valid(0, "functions.get_time:0", "get_time", "{}"))),
                message);
    }

    @Test
    void reasoningThatNeverEndsIsAllReasoning() {
        assertEquals(new AssistantMessage("still <thinking> about it", "", List.of()),
                checkEveryChunking("<think>still <thinking> about it", true));
    }

    @Test
    void longArgumentsWithNearMarkersStreamWhole() throws IOException {
        StringBuilder code = new StringBuilder();
        for (int line = 0; line < 60; line++) {
            code.append("if (a < b && c |> d) { print(\"<|tool_call_end|\" + '東京' + \"😀</think>\"); } // ").append(line).append('\n');
        }
        Map<String, Object> arguments = new LinkedHashMap<>();
        arguments.put("path", "src/Main.java");
        arguments.put("content", code.toString());
        String json = new ObjectMapper().writeValueAsString(arguments);
        assertTrue(json.length() > 4000);
        String output = BEGIN + CALL + "functions.write_file:0" + ARGS + json + CALL_END + END;
        assertEquals(new AssistantMessage("", "", List.of(valid(0, "functions.write_file:0", "write_file", json))),
                checkEveryChunking(output, false));
    }

    @Test
    void malformedArgumentsGiveAnErrorNamingTheCallAndKeepTheRawText() {
        String output = BEGIN + CALL + "functions.get_weather:0" + ARGS + "{\"city\": \"Par" + CALL_END
                + CALL + "functions.get_time:1" + ARGS + "[\"UTC\"]" + CALL_END
                + CALL + "functions.get_time:2" + ARGS + "{\"timezone\": \"UTC\"}" + CALL_END + END;
        AssistantMessage message = checkEveryChunking(output, false);
        assertEquals(3, message.toolCalls().size());
        ToolCall broken = message.toolCalls().get(0);
        assertEquals("{\"city\": \"Par", broken.arguments());
        assertError(broken, "functions.get_weather:0", "not valid JSON");
        assertEquals("[\"UTC\"]", message.toolCalls().get(1).arguments());
        assertError(message.toolCalls().get(1), "functions.get_time:1", "not a JSON object");
        assertEquals(valid(2, "functions.get_time:2", "get_time", "{\"timezone\": \"UTC\"}"), message.toolCalls().get(2));
    }

    @Test
    void aCallCutOffByTheEndOfTheOutputIsAnErrorWithItsText() {
        String output = "Checking." + BEGIN + CALL + "functions.get_weather:0" + ARGS + "{\"city\": \"Ber";
        AssistantMessage message = checkEveryChunking(output, false);
        assertEquals("Checking.", message.content());
        ToolCall cut = message.toolCalls().getFirst();
        assertEquals("{\"city\": \"Ber", cut.arguments());
        assertError(cut, "functions.get_weather:0", "ends before " + CALL_END);
    }

    @Test
    void undeclaredFunctionsMissingArgumentsAndStrayTextLoseNothing() {
        String output = BEGIN + " note " + CALL + "functions.launch:0" + ARGS + "{}" + CALL_END + CALL + "get_time" + CALL_END
                + ARGS + END + " Done.";
        AssistantMessage message = checkEveryChunking(output, false);
        assertEquals(" note " + ARGS + " Done.", message.content());
        assertError(message.toolCalls().get(0), "functions.launch:0", "'launch', which the request does not declare");
        ToolCall bare = message.toolCalls().get(1);
        assertEquals("get_time", bare.name());
        assertError(bare, "get_time", "not followed by " + ARGS);
    }

    @Test
    void withoutThinkingOrToolsEverythingIsContent() {
        String output = "<think>kept</think>as content" + BEGIN + CALL + "functions.get_time:0" + ARGS + "{}" + CALL_END + END;
        Chunkings.forEachOfText(output, chunks -> {
            ParsedOutput parsed = ParsedOutput.parse(chunks, false, Set.of());
            assertEquals(new AssistantMessage("", output, List.of()), parsed.message());
            assertEquals(parsed.message(), parsed.reassembled());
        });
    }

    @Test
    void functionNamesComeFromKimiCallIds() {
        assertEquals("get_weather", ToolCallParser.functionName("functions.get_weather:12"));
        assertEquals("get_weather", ToolCallParser.functionName("get_weather"));
        assertEquals("a:b", ToolCallParser.functionName("functions.a:b"));
        assertEquals("", ToolCallParser.functionName("functions.:0"));
    }

    /** Parses every chunking of the output; all must agree and reassemble from their deltas. Returns the message. */
    private static AssistantMessage checkEveryChunking(String output, boolean thinking) {
        ParsedOutput whole = ParsedOutput.parse(List.of(output), thinking, TOOLS);
        int[] chunkings = {0};
        Consumer<List<String>> check = chunks -> {
            assertSame(whole, ParsedOutput.parse(chunks, thinking, TOOLS), chunks);
            chunkings[0]++;
        };
        Chunkings.forEach(tokenTexts(output, true), check);
        Chunkings.forEach(tokenTexts(output, false), check);
        Chunkings.forEachOfText(output, check);
        assertTrue(chunkings[0] > 1000, "chunkings tried: " + chunkings[0]);
        return whole.message();
    }

    private static void assertSame(ParsedOutput expected, ParsedOutput actual, List<String> chunks) {
        assertEquals(expected.message(), actual.message(), () -> "chunks " + chunks);
        assertEquals(actual.message(), actual.reassembled(), () -> "deltas of chunks " + chunks);
    }

    /** The texts of the output's tokens as a streaming decoder gives them; markers as special tokens or spelled. */
    private static List<String> tokenTexts(String output, boolean specialTokens) {
        StreamingDecoder decoder = new StreamingDecoder(tokenizer);
        List<String> pieces = new ArrayList<>();
        int[] ids = tokenizer.encode(output, specialTokens);
        for (int id : ids) {
            pieces.add(decoder.push(id));
        }
        pieces.add(decoder.flush());
        assertEquals(output, String.join("", pieces));
        int markerTokens = (int) java.util.Arrays.stream(ids).filter(id -> tokenizer.specialTokens().isSpecial(id)).count();
        assertEquals(specialTokens, markerTokens > 0, "markers as special tokens only when asked");
        return pieces;
    }

    private static ToolCall valid(int index, String id, String name, String arguments) {
        return new ToolCall(index, id, name, arguments, Optional.empty());
    }

    private static void assertError(ToolCall call, String id, String reason) {
        String error = call.error().orElseThrow(() -> new AssertionError("call " + call + " has no error"));
        assertTrue(error.contains("'" + id + "'") && error.contains(reason), error);
    }
}
