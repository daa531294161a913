package io.moefleet.cli;

import static io.moefleet.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.engine.Engine;
import io.moefleet.sampling.SamplingParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line as the BRIEF fixes it: results alone on stdout, clear errors and exit codes for bad input. */
class MainTest {

    @TempDir
    static Path dir;

    private static Path tiny;

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
    void demoStreamsAChatAnswerThroughTheApiOfAFleetAndStopsIt() {
        CliRun r = run("demo", "--model", dir.resolve("demo-small").toString(), "--max-tokens", "6", "--prompt", "Hi");
        // --model points the demo at an empty folder: it makes the (demo preset) checkpoint there first
        assertEquals(0, r.code(), r.err());
        assertFalse(r.out().isBlank(), "the streamed answer: " + r.out());
        assertTrue(r.err().contains("the fleet is serving"), r.err());
        assertTrue(r.err().contains("./fleet serve --model"), r.err());
        assertTrue(r.err().contains("curl -N http://127.0.0.1:"), r.err());
    }

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
