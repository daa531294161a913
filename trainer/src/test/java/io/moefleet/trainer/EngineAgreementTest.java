package io.moefleet.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.engine.Engine;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.weights.ModelWeights;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The training forward pass is the engine's: on a checkpoint written by {@link CheckpointWriter}, every position's
 * logits are bitwise the engine's, for a sequence alone and for the same sequences batched with others.
 * {@code tiny} has a q LoRA and YaRN; {@code tiny-alt} a plain q_proj, group-limited routing, two shared experts.
 */
class EngineAgreementTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-alt"})
    void logitsAreTheEnginesBitForBit(String preset) throws Exception {
        Path checkpoint = dir.resolve(preset);
        CheckpointWriter.write(Preset.config(preset), 7, WeightFormat.F32, checkpoint);
        SplittableRandom random = new SplittableRandom(11);
        try (Engine engine = Engine.open(checkpoint, ModelWeights.LoadProgress.NONE, 2);
                Workers workers = new Workers(2)) {
            int vocab = engine.model().config().vocabSize();
            int[][] sequences = {random.ints(23, 0, vocab).toArray(), random.ints(9, 0, vocab).toArray(),
                    random.ints(1, 0, vocab).toArray()};
            TrainingModel model = new TrainingModel(engine.model().config(), workers);
            model.copyFrom(engine.model().weights());

            float[][] batched = model.forward(new Batch(sequences, sequences));
            int row = 0;
            for (int[] sequence : sequences) {
                float[][] expected = engine.logits(sequence);
                float[][] alone = model.forward(new Batch(new int[][] {sequence}, new int[][] {sequence}));
                for (int i = 0; i < sequence.length; i++, row++) {
                    assertArrayEquals(expected[i], alone[i], preset + ": position " + i + " alone");
                    assertArrayEquals(expected[i], batched[row], preset + ": position " + i + " in the batch");
                }
            }
        }
    }

    /** A trained model's checkpoint ({@link TrainingModel#save}) is read back by the engine with the same logits. */
    @ParameterizedTest
    @ValueSource(strings = {"tiny", "tiny-alt"})
    void aSavedModelIsTheEnginesModel(String preset) throws Exception {
        try (Workers workers = new Workers(1)) {
            TrainingModel model = TestModels.model(io.moefleet.model.ModelConfig.parse(Preset.config(preset), preset), workers, 3);
            Path saved = dir.resolve(preset + "-trained");
            model.save(Preset.config(preset), WeightFormat.F32, saved);
            int[] tokens = new SplittableRandom(4).ints(17, 0, model.config().vocabSize()).toArray();
            float[][] expected = model.forward(new Batch(new int[][] {tokens}, new int[][] {tokens}));
            try (Engine engine = Engine.open(saved, ModelWeights.LoadProgress.NONE, 1)) {
                float[][] actual = engine.logits(tokens);
                for (int i = 0; i < tokens.length; i++) {
                    assertArrayEquals(expected[i], actual[i], preset + ": position " + i);
                }
            }
        }
    }
}
