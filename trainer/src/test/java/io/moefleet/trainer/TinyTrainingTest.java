package io.moefleet.trainer;

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
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code tiny} preset trained with MuonClip for 200 steps on seven files of the Brown corpus (test resources)
 * lowers the loss on an eighth, held-out file from about ln(vocab) to well below it; every step logs a JSON line.
 */
class TinyTrainingTest {

    @TempDir
    Path dir;

    private static String resource(String name) throws IOException {
        try (var in = TinyTrainingTest.class.getResourceAsStream("/brown/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    @Test
    void heldOutLossFallsWellBelowUniform() throws IOException {
        List<String> train = new ArrayList<>();
        for (String file : List.of("ca01", "cb01", "ce01", "cf01", "cg01", "cj01", "cn01")) {
            train.add(BrownCorpus.document(resource(file)));
        }
        BrownCorpus.Split split = new BrownCorpus.Split(train, List.of(BrownCorpus.document(resource("ck01"))));
        Path checkpoint = dir.resolve("tiny");
        CheckpointWriter.write(Preset.config("tiny"), 1, WeightFormat.F32, checkpoint);
        try (Workers workers = new Workers(1); TextTokenizer tokenizer = Tokenizers.load(checkpoint)) {
            TrainingModel model = TrainingModel.fromCheckpoint(checkpoint, workers);
            TokenisedCorpus text = TokenisedCorpus.of(split, tokenizer, model.config().bosTokenId());
            double uniform = Math.log(model.config().vocabSize());
            TrainingRun.Settings settings = new TrainingRun.Settings(200, 4, 32, 0.02, 20,
                    Optimizer.Settings.defaults(Optimizer.Method.MUONCLIP), 3, 100, 16);
            TrainingRun run = new TrainingRun(model, settings, workers);
            double before = model.loss(heldOut(text.heldOut(), 33, 16));
            StringWriter log = new StringWriter();
            TrainingRun.Result result = run.run(text.train(), text.heldOut(), new PrintStream(System.err), log);

            System.err.printf("tiny: held-out loss %.4f before, %.4f after 200 steps; ln(vocab) %.4f%n", before, result.heldOutLoss(), uniform);
            assertTrue(before > uniform - 0.5, "an untrained model is near uniform: " + before);
            assertTrue(result.heldOutLoss() < uniform - 2, "held-out loss " + result.heldOutLoss() + " not well below " + uniform);
            String[] lines = log.toString().split("\n");
            assertEquals(200, lines.length);
            assertTrue(lines[199].startsWith("{\"step\":200,") && lines[199].contains("\"held_out_loss\":"), lines[199]);
        }
    }

    private static Batch heldOut(int[] tokens, int window, int count) {
        int[][] windows = new int[count][];
        for (int s = 0; s < count; s++) {
            windows[s] = java.util.Arrays.copyOfRange(tokens, s * window, (s + 1) * window);
        }
        return Batch.nextToken(windows);
    }
}
