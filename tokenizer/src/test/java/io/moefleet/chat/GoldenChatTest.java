package io.moefleet.chat;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import io.moefleet.tokenizer.GoldenFiles;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The 6 golden chat cases, through the path a served request takes: the tiny-k2 checkpoint directory's own template
 * and tokenizer, the request as JSON.
 */
class GoldenChatTest {

    private static ChatEncoder encoder;

    @BeforeAll
    static void load() {
        encoder = ChatEncoder.load(GoldenFiles.tinyK2());
    }

    @AfterAll
    static void close() {
        encoder.close();
    }

    static Stream<Arguments> cases() {
        JsonNode golden = GoldenFiles.cases("chat");
        assertEquals("tiny-k2", golden.path("tokenizer").asText());
        List<Arguments> cases = new ArrayList<>();
        golden.path("cases").forEach(c -> cases.add(Arguments.of(c.path("name").asText(), c)));
        assertEquals(6, cases.size());
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void rendersAndEncodesAsTheGolden(String name, JsonNode golden) {
        ChatPrompt prompt = ChatPrompt.fromJson(golden);
        String text = encoder.render(prompt);
        assertEquals(golden.path("text").asText(), text);
        int[] ids = encoder.encode(prompt);
        assertArrayEquals(GoldenFiles.ints(golden.path("ids")), ids);
        assertEquals(text, encoder.tokenizer().decode(ids));
    }
}
