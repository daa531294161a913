package io.moefleet.cli;

import static io.moefleet.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code ./fleet tokenize} prints the golden ids of the tiny-k2 checkpoint, for a text and for a chat file. */
class TokenizeCommandTest {

    /** The golden data lives with the tokenizer module's tests; Maven runs each module's tests in its own directory. */
    private static final Path GOLDEN = Path.of("..", "tokenizer", "src", "test", "resources", "golden");
    private static final Path TINY_K2 = GOLDEN.resolve("tiny-k2");

    @TempDir
    Path dir;

    private static JsonNode golden(String name) throws IOException {
        assertTrue(Files.isDirectory(TINY_K2), TINY_K2.toAbsolutePath() + " is missing");
        return new ObjectMapper().readTree(GOLDEN.resolve("cases").resolve(name + ".json").toFile());
    }

    private static String idsLine(JsonNode ids) {
        return StreamSupport.stream(ids.spliterator(), false).map(JsonNode::asText).collect(Collectors.joining(" ")) + "\n";
    }

    @Test
    void textPrintsTheGoldenIdsWithSpecialTokensRecognised() throws IOException {
        List<JsonNode> cases = new ArrayList<>();
        golden("tokenizer").path("cases").forEach(c -> {
            if (c.path("allow_special").asBoolean() && (c.path("text").asText().contains("<|") || c.path("text").asText().contains("中"))) {
                cases.add(c);
            }
        });
        assertTrue(cases.size() >= 4, "golden cases with special tokens or CJK: " + cases.size());
        for (JsonNode c : cases) {
            CliRun r = run("tokenize", "--model", TINY_K2.toString(), "--text", c.path("text").asText());
            assertEquals(0, r.code(), r.err());
            assertEquals(idsLine(c.path("ids")), r.out(), c.path("text").asText());
        }
    }

    @Test
    void chatFilePrintsTheGoldenIdsOfTheRenderedConversation() throws IOException {
        for (JsonNode c : golden("chat").path("cases")) {
            ObjectNode request = new ObjectMapper().createObjectNode();
            request.set("messages", c.path("messages"));
            request.set("tools", c.path("tools"));
            request.set("add_generation_prompt", c.path("add_generation_prompt"));
            Path file = dir.resolve(c.path("name").asText() + ".json");
            Files.writeString(file, request.toString());
            CliRun r = run("tokenize", "--model", TINY_K2.toString(), "--chat", file.toString());
            assertEquals(0, r.code(), r.err());
            assertEquals(idsLine(c.path("ids")), r.out(), c.path("name").asText());
        }
    }

    @Test
    void addGenerationPromptDefaultsToTrue() throws IOException {
        JsonNode single = golden("chat").path("cases").get(0);
        assertEquals("single-user-default-system", single.path("name").asText());
        Path file = dir.resolve("chat.json");
        Files.writeString(file, "{\"messages\": " + single.path("messages") + "}");
        CliRun r = run("tokenize", "--model", TINY_K2.toString(), "--chat", file.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(idsLine(single.path("ids")), r.out());
    }

    @Test
    void badInputGivesAClearErrorAndNothingOnStdout() {
        CliRun both = run("tokenize", "--model", TINY_K2.toString(), "--text", "a", "--chat", "b.json");
        assertEquals(2, both.code());
        assertTrue(both.err().contains("exactly one of --text and --chat"), both.err());

        CliRun noFile = run("tokenize", "--model", TINY_K2.toString(), "--chat", dir.resolve("missing.json").toString());
        assertEquals(1, noFile.code());
        assertTrue(noFile.err().contains("cannot read the chat file"), noFile.err());

        CliRun noTokenizer = run("tokenize", "--model", dir.toString(), "--text", "a");
        assertEquals(1, noTokenizer.code());
        assertTrue(noTokenizer.err().contains("neither tiktoken.model nor tokenizer.json"), noTokenizer.err());
        for (CliRun r : List.of(both, noFile, noTokenizer)) {
            assertEquals("", r.out());
        }
    }
}
