package io.moefleet.chat.generation;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.DictionaryEntries;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.chat.ChatEncoder;
import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.engine.Engine;
import io.moefleet.grammar.AllowedTokens;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;

/**
 * Any chat completion body as {@link ChatGenerator#prepare} takes it: messages through the chat template, tools, tool
 * choice and response format into the answer grammar. It is refused with an {@link IllegalArgumentException} saying
 * what is wrong, or it gives a turn whose grammar always allows a next token until an end token: a walk through it,
 * each token drawn among the allowed ones (seeded by the input), never meets an empty mask.
 */
class ChatRequestFuzzTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int WALK = 48;

    @TempDir
    static Path checkpoint;
    private static Engine engine;
    private static ChatEncoder encoder;
    private static ChatGenerator generator;

    @BeforeAll
    static void open() throws IOException {
        CheckpointWriter.write(Preset.config("tiny"), 11, WeightFormat.BF16, checkpoint);
        engine = Engine.open(checkpoint, (done, total) -> { });
        encoder = ChatEncoder.load(checkpoint);
        generator = new ChatGenerator(engine, encoder);
    }

    @AfterAll
    static void close() {
        encoder.close();
        engine.close();
    }

    @FuzzTest(maxDuration = "5s")
    @DictionaryEntries({"\"messages\"", "\"role\"", "\"content\"", "\"user\"", "\"assistant\"", "\"tool_calls\"",
            "\"tools\"", "\"function\"", "\"name\"", "\"parameters\"", "\"tool_choice\"", "\"required\"", "\"none\"",
            "\"auto\"", "\"parallel_tool_calls\"", "\"response_format\"", "\"json_schema\"", "\"json_object\"",
            "\"schema\"", "\"type\"", "\"object\"", "\"array\"", "\"string\"", "\"integer\"", "\"number\"", "\"boolean\"",
            "\"properties\"", "\"required\"", "\"items\"", "\"enum\"", "\"const\"", "\"anyOf\"", "\"oneOf\"", "\"$ref\"",
            "\"$defs\"", "\"minItems\"", "\"maxItems\"", "\"minLength\"", "\"maxLength\"", "\"pattern\"", "\"minimum\"",
            "\"maximum\"", "\"additionalProperties\"", "\"max_tokens\"", "\"continue_final_message\"",
            "\"chat_template_kwargs\"", "\"thinking\"", "true", "false", "null"})
    void anyChatRequestIsRefusedClearlyOrGivesAGrammarThatNeverDeadEnds(byte[] input) {
        JsonNode body;
        try {
            body = JSON.readTree(input);
        } catch (IOException e) {
            return;                                          // not JSON: the API answers 400 as it reads the body
        }
        if (body == null) {
            return;
        }
        ChatTurn turn;
        try {
            turn = generator.prepare(ChatRequest.fromJson(body));
        } catch (IllegalArgumentException e) {
            assertTrue(!(e instanceof NumberFormatException) && e.getMessage() != null && !e.getMessage().isBlank(),
                    () -> "a clear error: " + e);
            return;
        }
        Random draw = new Random(Arrays.hashCode(input));
        for (int step = 0; step < Math.min(WALK, turn.maxNewTokens()); step++) {
            AllowedTokens allowed = turn.allowedTokens(step);     // throws when the grammar allows nothing
            int[] ids = allowed.ids();
            int token = ids[draw.nextInt(ids.length)];
            turn.accept(token);
            if (turn.isEnd(token)) {
                return;
            }
        }
    }
}
