package io.moefleet.cli;

import static io.moefleet.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.engine.Engine;
import io.moefleet.sampling.SamplingParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as the BRIEF fixes it: results alone on stdout, clear errors and exit codes for bad input. */
class MainTest {

    @TempDir
    static Path dir;

    private static Path tiny;
    /** The committed demo model, from the launcher module's folder (where the tests run). */
    private static final Path DEMO_MODEL = Path.of("..", "models", "demo");

    @BeforeAll
    static void makeCheckpoint() {
        tiny = dir.resolve("tiny");
        CliRun r = run("checkpoint", "--preset", "tiny", "--seed", "4", "--out", tiny.toString(), "--dtype", "fp8");
        assertEquals(0, r.code(), r.err());
        assertEquals(tiny + "\n" + dir.resolve("tiny-f32") + "\n", r.out());
    }

    @Test
    void logitsWritesEveryPositionAsLittleEndianFloat32() throws IOException {
        Path file = dir.resolve("logits.f32");
        CliRun r = run("logits", "--model", tiny.toString(), "--tokens", "1,2,3,500", "--out", file.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("", r.out());
        try (Engine engine = Engine.open(tiny, (d, t) -> {})) {
            float[][] expected = engine.logits(new int[] {1, 2, 3, 500});
            ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
            assertEquals(4L * 4 * expected[0].length, bytes.capacity());
            for (float[] row : expected) {
                float[] actual = new float[row.length];
                bytes.asFloatBuffer().get(actual);
                bytes.position(bytes.position() + 4 * row.length);
                assertArrayEquals(row, actual, 0f);
            }
        }
    }

    @Test
    void generatePrintsExactlyNGreedyIds() {
        CliRun r = run("generate", "--model", tiny.toString(), "--tokens", "5,6,7", "--max-tokens", "9");
        assertEquals(0, r.code(), r.err());
        int[] ids = Arrays.stream(r.out().strip().split(" ")).mapToInt(Integer::parseInt).toArray();
        assertEquals(9, ids.length);
        try (Engine engine = Engine.open(tiny, (d, t) -> {})) {
            assertArrayEquals(engine.generate(new int[] {5, 6, 7}, 9, SamplingParams.greedy()), ids);
        }
    }

    @Test
    void demoStreamsEnglishFromTheDemoModelThroughTheApiOfAFleetAndStopsIt() {
        CliRun r = run("demo", "--model", DEMO_MODEL.toString(), "--max-tokens", "32");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith(DemoCommand.OPENING), "the opening, then its continuation: " + r.out());
        assertEnglish(r.out().substring(DemoCommand.OPENING.length()));
        assertTrue(r.err().contains("the fleet is serving 'demo'"), r.err());
        assertTrue(r.err().contains("POST /v1/completions (stream)"), r.err());
        assertTrue(r.err().contains("./fleet serve --model"), r.err());
        assertTrue(r.err().contains("curl -N http://127.0.0.1:"), r.err());
    }

    @Test
    void demoChatAnswersInEnglishWords() {
        CliRun r = run("demo", "--model", DEMO_MODEL.toString(), "--single-process", "--chat", "--max-tokens", "32",
                "--prompt", "Tell me about the city.");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("POST /v1/chat/completions (stream)"), r.err());
        assertEnglish(r.out());
    }

    @Test
    void demoWithoutACheckpointSaysWhereTheModelShips() {
        CliRun r = run("demo", "--model", dir.resolve("no-model").toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("no checkpoint in") && r.err().contains("models/demo"), r.err());
    }

    /**
     * Text of English words: mostly alphabetic words between spaces, and common function words among them (random
     * weights over this vocabulary pick one of them for about one token in two hundred).
     */
    private static void assertEnglish(String text) {
        List<String> words = Arrays.stream(text.strip().split("\\s+")).map(w -> w.replaceAll("^[\"'(]+|[\"'.,;:!?)]+$", ""))
                .filter(w -> !w.isEmpty()).toList();
        long alphabetic = words.stream().filter(w -> w.matches("[A-Za-z]+(['-][A-Za-z]+)*")).count();
        long common = words.stream().map(w -> w.toLowerCase(java.util.Locale.ROOT)).filter(COMMON_WORDS::contains).count();
        assertTrue(words.size() >= 8, "at least 8 words: " + text);
        assertTrue(alphabetic >= 0.8 * words.size(), "mostly alphabetic words: " + text);
        assertTrue(common >= 2, "some of the commonest English words: " + text);
    }

    private static final Set<String> COMMON_WORDS = Set.of("the", "of", "and", "to", "a", "in", "that", "is", "was", "he",
            "for", "it", "with", "as", "his", "on", "be", "at", "by", "i", "this", "had", "not", "are", "but", "from", "or",
            "have", "an", "they", "which", "one", "you", "were", "her", "all", "she", "there", "would", "their", "we", "him");

    @Test
    void badInputGivesAClearErrorAndExitCode() {
        CliRun unknown = run("frobnicate");
        assertEquals(2, unknown.code());
        assertTrue(unknown.err().contains("unknown command 'frobnicate'"), unknown.err());

        CliRun missing = run("logits", "--model", tiny.toString(), "--tokens", "1");
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("missing --out"), missing.err());

        CliRun typo = run("generate", "--model", tiny.toString(), "--tokens", "1", "--max-tokenz", "3");
        assertEquals(2, typo.code());
        assertTrue(typo.err().contains("unknown option --max-tokenz"), typo.err());

        CliRun notIds = run("generate", "--model", tiny.toString(), "--tokens", "1,x");
        assertEquals(2, notIds.code());
        assertTrue(notIds.err().contains("comma-separated token ids"), notIds.err());

        CliRun outside = run("generate", "--model", tiny.toString(), "--tokens", "1,99999", "--max-tokens", "1");
        assertEquals(1, outside.code());
        assertTrue(outside.err().contains("99999"), outside.err());

        CliRun noModel = run("generate", "--model", dir.resolve("nothing").toString(), "--tokens", "1");
        assertEquals(1, noModel.code());
        assertTrue(noModel.err().contains("does not exist"), noModel.err());

        CliRun preset = run("checkpoint", "--preset", "huge", "--seed", "1", "--out", dir.resolve("x").toString());
        assertEquals(1, preset.code());
        assertTrue(preset.err().contains("unknown preset 'huge'"), preset.err());
        for (CliRun r : new CliRun[] {unknown, missing, typo, notIds, outside, noModel, preset}) {
            assertEquals("", r.out(), "errors never go to stdout");
        }
    }
}
