package io.moefleet.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.compute.Workers;
import io.moefleet.tokenizer.TextTokenizer;
import io.moefleet.tokenizer.Tokenizers;
import io.moefleet.trainer.BrownCorpus;
import io.moefleet.trainer.HeldOutEvaluation;
import io.moefleet.trainer.TokenisedCorpus;
import io.moefleet.trainer.TrainingModel;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The committed demo model has learnt English: on two Brown files its training never saw, its loss per token is far
 * below a unigram model's of the same tokens (fitted to those very files, a baseline that knows the text's word
 * frequencies) and below the loss the README reports for it, give or take the spread between files.
 */
class DemoModelTest {

    private static final Path DEMO_MODEL = Path.of("..", "models", "demo");

    @Test
    void theDemoModelPredictsHeldOutBrownTextFarBetterThanWordFrequencies() throws IOException {
        List<String> heldOut = List.of(BrownCorpus.document(resource("ca20")), BrownCorpus.document(resource("ca40")));
        try (Workers workers = new Workers(2); TextTokenizer tokenizer = Tokenizers.load(DEMO_MODEL)) {
            TrainingModel model = TrainingModel.fromCheckpoint(DEMO_MODEL, workers);
            TokenisedCorpus text = TokenisedCorpus.of(new BrownCorpus.Split(heldOut, heldOut), tokenizer, model.config().bosTokenId());
            HeldOutEvaluation.Result result = HeldOutEvaluation.of(model, text.train(), text.heldOut(), 128);
            System.err.printf("demo model on ca20 + ca40: %.4f nats/token (perplexity %.1f); unigram of the same text %.4f%n",
                    result.modelLoss(), result.modelPerplexity(), result.unigramLoss());
            assertTrue(result.modelLoss() < result.unigramLoss() - 1, result.toString());
            assertTrue(result.modelLoss() < MAX_HELD_OUT_LOSS, result.toString());
        }
    }

    /** The README's held-out loss of the whole held-out text (3.97), plus a margin for two files' spread around it. */
    private static final double MAX_HELD_OUT_LOSS = 4.5;

    private static String resource(String name) throws IOException {
        try (InputStream in = DemoModelTest.class.getResourceAsStream("/brown/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }
}
