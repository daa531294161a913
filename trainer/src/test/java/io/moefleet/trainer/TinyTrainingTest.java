package io.moefleet.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.model.compute.Workers;
import io.moefleet.tokenizer.TextTokenizer;
import io.moefleet.tokenizer.Tokenizers;
import java.io.IOException;
import java.io.PrintStream;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The {@code tiny} preset trained on seven files of the Brown corpus (test resources), an eighth held out: MuonClip
 * lowers the held-out loss from about ln(vocab) to well below it; at a learning rate high enough that Muon's
 * attention logits run away, QK-Clip holds them near tau. One thread, seeded: the runs are deterministic.
 */
class TinyTrainingTest {

    private static Path checkpoint;
    private static Workers workers;
    private static TokenisedCorpus text;

    @BeforeAll
    static void prepare() throws IOException {
        checkpoint = Files.createTempDirectory("tiny-training");
        CheckpointWriter.write(Preset.config("tiny"), 1, WeightFormat.F32, checkpoint);
        List<String> train = new ArrayList<>();
        for (String file : List.of("ca01", "cb01", "ce01", "cf01", "cg01", "cj01", "cn01")) {
            train.add(BrownCorpus.document(resource(file)));
        }
        BrownCorpus.Split split = new BrownCorpus.Split(train, List.of(BrownCorpus.document(resource("ck01"))));
        workers = new Workers(1);
        try (TextTokenizer tokenizer = Tokenizers.load(checkpoint)) {
            text = TokenisedCorpus.of(split, tokenizer, TrainingModel.fromCheckpoint(checkpoint, workers).config().bosTokenId());
        }
    }

    @AfterAll
    static void close() {
        workers.close();
    }

    private static String resource(String name) throws IOException {
        try (var in = TinyTrainingTest.class.getResourceAsStream("/brown/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    private static TrainingRun.Settings settings(int steps, double lr, Optimizer.Method method, double tau, int evalEvery) {
        Optimizer.Settings d = Optimizer.Settings.defaults(method);
        return new TrainingRun.Settings(steps, 4, 32, lr, 20, new Optimizer.Settings(method, d.weightDecay(), d.momentum(),
                d.beta1(), d.beta2(), d.eps(), d.balanceSpeed(), tau), 3, evalEvery, 16);
    }

    @Test
    void heldOutLossFallsWellBelowUniform() throws IOException {
        TrainingModel model = TrainingModel.fromCheckpoint(checkpoint, workers);
        double uniform = Math.log(model.config().vocabSize());
        int[][] windows = new int[16][];
        for (int s = 0; s < windows.length; s++) {
            windows[s] = Arrays.copyOfRange(text.heldOut(), s * 33, (s + 1) * 33);
        }
        double before = model.loss(Batch.nextToken(windows));
        StringWriter log = new StringWriter();
        TrainingRun.Result result = new TrainingRun(model, settings(200, 0.02, Optimizer.Method.MUONCLIP, 100, 100), workers)
                .run(text.train(), text.heldOut(), new PrintStream(System.err), log);

        System.err.printf("tiny: held-out loss %.4f before, %.4f after 200 steps; ln(vocab) %.4f%n", before, result.heldOutLoss(), uniform);
        assertTrue(before > uniform - 0.5, "an untrained model is near uniform: " + before);
        assertTrue(result.heldOutLoss() < uniform - 2, "held-out loss " + result.heldOutLoss() + " not well below " + uniform);
        String[] lines = log.toString().split("\n");
        assertEquals(200, lines.length);
        assertTrue(lines[99].startsWith("{\"step\":100,") && !lines[99].contains("\"held_out_loss\":null"), lines[99]);
        assertTrue(lines[100].contains("\"held_out_loss\":null"), lines[100]);
    }

    @Test
    void eachStepDrawsWindowsOfItsOwn() {
        TrainingRun run = new TrainingRun(TrainingModel.fromCheckpoint(checkpoint, workers),
                settings(50, 0.02, Optimizer.Method.MUONCLIP, 100, 0), workers);
        Set<List<Integer>> seen = new HashSet<>();
        int repeats = 0;
        for (int step = 0; step < 50; step++) {
            for (int[] window : run.windows(text.train(), step)) {
                repeats += seen.add(Arrays.stream(window).boxed().toList()) ? 0 : 1;
            }
        }
        // 200 draws over ~10^4 starts repeat a window by chance about twice; seeds a gamma apart repeated about 150
        assertTrue(repeats < 10, repeats + " of 200 windows were drawn before");
    }

    @Test
    void qkClipBoundsTheLogitsThatMuonLetsRunAway() throws IOException {
        double tau = 10;
        float[] muon = lateMaxLogits(settings(80, 0.05, Optimizer.Method.MUON, tau, 0));
        float[] clipped = lateMaxLogits(settings(80, 0.05, Optimizer.Method.MUONCLIP, tau, 0));
        System.err.printf("max logit over the last 20 steps: Muon %.2f, MuonClip %.2f (tau %.0f)%n", max(muon), max(clipped), tau);
        assertTrue(max(muon) > 3 * tau, "without the clip the logits grow past tau: " + max(muon));
        // each step's forward runs on the weights of the last clip plus one update, so it may overshoot tau a little
        assertTrue(max(clipped) < 1.5 * tau, "with the clip they stay near tau: " + max(clipped));
    }

    @Test
    void aRunResumedFromItsCheckpointTakesTheSameSteps() throws IOException {
        TrainingRun.Settings settings = settings(6, 0.02, Optimizer.Method.MUONCLIP, 10, 0);
        PrintStream quiet = new PrintStream(PrintStream.nullOutputStream());
        TrainingModel straight = TrainingModel.fromCheckpoint(checkpoint, workers);
        new TrainingRun(straight, settings, workers).run(text.train(), text.heldOut(), quiet, new StringWriter());

        TrainingModel interrupted = TrainingModel.fromCheckpoint(checkpoint, workers);
        TrainingRun first = new TrainingRun(interrupted, settings, workers);
        first.run(text.train(), text.heldOut(), 0, 3, quiet, new StringWriter());
        Path saved = Files.createTempDirectory("resume");
        interrupted.save(Preset.config("tiny"), WeightFormat.F32, saved);
        OptimizerState.save(first.optimizer(), interrupted, 3, saved);

        TrainingModel resumed = TrainingModel.fromCheckpoint(saved, workers);
        TrainingRun second = new TrainingRun(resumed, settings, workers);
        int done = OptimizerState.load(second.optimizer(), resumed, saved);
        assertEquals(3, done);
        second.run(text.train(), text.heldOut(), done, 6, quiet, new StringWriter());
        for (Parameter p : straight.parameters()) {
            assertArrayEquals(p.value(), resumed.parameter(p.name()).value(), p.name());
        }
    }

    /** Each of the last 20 steps' largest attention logit. */
    private static float[] lateMaxLogits(TrainingRun.Settings settings) throws IOException {
        TrainingModel model = TrainingModel.fromCheckpoint(checkpoint, workers);
        StringWriter log = new StringWriter();
        new TrainingRun(model, settings, workers).run(text.train(), text.heldOut(), new PrintStream(PrintStream.nullOutputStream()), log);
        String[] lines = log.toString().split("\n");
        float[] late = new float[20];
        for (int i = 0; i < late.length; i++) {
            String line = lines[lines.length - late.length + i];
            int at = line.indexOf("\"max_logit\":") + "\"max_logit\":".length();
            late[i] = Float.parseFloat(line.substring(at, line.indexOf(',', at)));
        }
        return late;
    }

    private static float max(float[] v) {
        float m = Float.NEGATIVE_INFINITY;
        for (float x : v) {
            m = Math.max(m, x);
        }
        return m;
    }
}
