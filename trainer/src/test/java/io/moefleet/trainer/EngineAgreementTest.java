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
}
