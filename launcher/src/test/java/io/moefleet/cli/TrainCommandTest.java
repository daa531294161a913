package io.moefleet.cli;

import static io.moefleet.cli.CliRun.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.engine.Engine;
import io.moefleet.model.weights.ModelWeights;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./fleet train} end to end on a corpus folder (twenty files cut from the Brown excerpt of the trainer's tests,
 * so that one is held out): the trained checkpoint's folder on stdout, a JSON line per step, a checkpoint the engine
 * opens, progress on stderr; the tokenizer of a {@code --model} start is kept; a run resumed; {@code plot} of two runs.
 */
class TrainCommandTest {

    private static final Path BROWN = Path.of("..", "trainer", "src", "test", "resources", "brown");

    @TempDir
    Path dir;

    private Path corpus() throws IOException {
        List<String> files = List.of("ca01", "cb01", "ce01", "cf01", "cg01", "cj01", "cn01", "ck01");
        Path corpus = Files.createDirectories(dir.resolve("corpus"));
        for (int i = 0; i < 20; i++) {
            Files.copy(BROWN.resolve(files.get(i % files.size())), corpus.resolve(String.format("ca%02d", i + 1)));
        }
        return corpus;
    }

    @Test
    void trainsAPresetAndWritesACheckpointTheEngineOpens() throws IOException {
        Path out = dir.resolve("trained");
        Path corpus = corpus();
        CliRun r = run("train", "--preset", "tiny", "--out", out.toString(), "--steps", "3", "--batch", "2", "--length", "16",
                "--threads", "1", "--eval-every", "0", "--eval-windows", "2", "--corpus", corpus.toString(), "--dtype", "f32");
        assertEquals(0, r.code(), r.err());
        assertEquals(out + "\n", r.out());
        assertTrue(r.err().contains("train: step 3/3") && r.err().contains("held-out loss"), r.err());
        assertEquals(3, Files.readAllLines(out.resolve("train.jsonl")).size());
        try (Engine engine = Engine.open(out, ModelWeights.LoadProgress.NONE, 1)) {
            assertEquals(1280, engine.model().config().vocabSize());
            assertEquals(2, engine.logits(new int[] {5, 6}).length);
        }

        Path again = dir.resolve("again");
        Files.writeString(out.resolve("tokenizer_config.json"), Files.readString(out.resolve("tokenizer_config.json")) + "\n");
        CliRun r2 = run("train", "--model", out.toString(), "--out", again.toString(), "--steps", "1", "--batch", "1",
                "--length", "8", "--threads", "1", "--eval-windows", "1", "--corpus", corpus.toString());
        assertEquals(0, r2.code(), r2.err());
        assertEquals(Files.readString(out.resolve("tokenizer_config.json")), Files.readString(again.resolve("tokenizer_config.json")),
                "the starting checkpoint's tokenizer files are kept");

        CliRun resumed = run("train", "--model", out.toString(), "--out", out.toString(), "--resume", "--steps", "5",
                "--batch", "2", "--length", "16", "--threads", "1", "--eval-every", "0", "--eval-windows", "2",
                "--corpus", corpus.toString(), "--dtype", "f32");
        assertEquals(0, resumed.code(), resumed.err());
        List<String> log = Files.readAllLines(out.resolve("train.jsonl"));
        assertEquals(5, log.size(), "steps 4 and 5 appended to the first three");
        assertTrue(log.get(3).startsWith("{\"step\":4,"), log.get(3));

        Path charts = dir.resolve("charts");
        CliRun plot = run("plot", "--runs", "first=" + out + ",second=" + again, "--out", charts.toString(), "--tau", "10");
        assertEquals(0, plot.code(), plot.err());
        assertEquals(charts.resolve("loss.png") + "\n" + charts.resolve("max-logit.png") + "\n", plot.out());
        assertTrue(Files.size(charts.resolve("max-logit.png")) > 1000);
    }

    @Test
    void needsExactlyOneStart() {
        CliRun r = run("train", "--out", dir.resolve("x").toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("exactly one of --preset and --model"), r.err());
    }
}
