package io.moefleet.router;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.engine.Engine;
import io.moefleet.model.GoldenData;
import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.sampling.Logits;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The fleet runs each step of two or more sequences as two micro-batches, one's calls overlapping the other's work:
 * every step's logits are bitwise those of the same steps run whole and of the engine, with prompts of every length
 * prefilling beside decoding sequences, and the steps did go out in halves (two attention calls per layer at least).
 */
@Timeout(120)
class MicroBatchTest {

    private static final Path MODEL = GoldenData.checkpoint("tiny-k2");
    private static final int[][] PROMPTS = {
        {5, 9, 14, 3, 8, 21, 30, 2, 17}, {42}, {11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22}, {7, 3, 9, 1, 4},
        {60, 61, 2, 9, 33, 8, 1},
    };
    private static final int STEPS = 9;

    @Test
    void wholeStepsAndTwoMicroBatchesGiveTheEnginesLogitsBitwise() {
        try (InProcessFleet fleet = InProcessFleet.start(MODEL, 2, 2, OpenTelemetry.noop(), OpenTelemetry.noop());
                Engine engine = Engine.open(MODEL, ModelWeights.LoadProgress.NONE)) {
            Transformer model = fleet.router.transformer();
            int layers = model.config().numHiddenLayers();
            model.setMicroBatches(1);
            List<List<float[]>> whole = run(model, fleet.router::step, calls -> { });
            model.setMicroBatches(2);
            List<List<float[]>> halves = run(model, fleet.router::step, sequences -> {
                long calls = fleet.router.attentionCalls().summary().calls();
                if (sequences >= 2) {
                    assertTrue(calls >= 2L * layers, sequences + " sequences in two micro-batches: " + calls + " attention calls");
                }
                fleet.router.attentionCalls().reset();
            });
            List<List<float[]>> onEngine = run(engine.model(), engine.model()::step, calls -> { });
            for (int i = 0; i < PROMPTS.length; i++) {
                assertEquals(whole.get(i).size(), halves.get(i).size());
                for (int step = 0; step < whole.get(i).size(); step++) {
                    assertArrayEquals(onEngine.get(i).get(step), whole.get(i).get(step),
                            "sequence " + i + ", its step " + step + ": whole steps against the engine");
                    assertArrayEquals(onEngine.get(i).get(step), halves.get(i).get(step),
                            "sequence " + i + ", its step " + step + ": two micro-batches against the engine");
                }
            }
        }
    }

    /**
     * Thirty-two streams prefilled in one step and decoded together, in two micro-batches over 2 shards and 2 attention
     * instances: every step's logits of every stream are bitwise those of the engine running that stream alone.
     */
    @Test
    void thirtyTwoStreamsInTwoMicroBatchesGiveEachTheEnginesLogitsAlone() {
        int streams = 32;
        int decodeSteps = 6;
        try (InProcessFleet fleet = InProcessFleet.start(MODEL, 2, 2, OpenTelemetry.noop(), OpenTelemetry.noop());
                Engine engine = Engine.open(MODEL, ModelWeights.LoadProgress.NONE)) {
            Transformer model = fleet.router.transformer();
            model.setMicroBatches(2);
            List<Sequence> sequences = new ArrayList<>();
            List<StepChunk> chunks = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                sequences.add(model.newSequence());
                chunks.add(StepChunk.next(sequences.get(i), prompt(i), false));
            }
            List<List<float[]>> together = new ArrayList<>();
            for (int step = 0; step <= decodeSteps; step++) {
                List<float[][]> out = fleet.router.step(chunks);
                together.add(out.stream().map(rows -> rows[0]).toList());
                chunks = new ArrayList<>();
                for (int i = 0; i < streams; i++) {
                    chunks.add(StepChunk.next(sequences.get(i), new int[] {Logits.argmax(out.get(i)[0])}, false));
                }
            }
            sequences.forEach(model::release);
            for (int i = 0; i < streams; i++) {
                Sequence alone = engine.model().newSequence();
                int[] tokens = prompt(i);
                for (int step = 0; step <= decodeSteps; step++) {
                    float[] logits = engine.model().step(List.of(StepChunk.next(alone, tokens, false))).getFirst()[0];
                    assertArrayEquals(logits, together.get(step).get(i), "stream " + i + ", step " + step
                            + ": 32 streams in two micro-batches on the fleet against the engine alone");
                    tokens = new int[] {Logits.argmax(logits)};
                }
                engine.model().release(alone);
            }
        }
    }

    /** Stream i's prompt: 1 to 12 tokens, each stream its own. */
    private static int[] prompt(int stream) {
        int[] prompt = new int[1 + stream % 12];
        for (int k = 0; k < prompt.length; k++) {
            prompt[k] = 2 + (stream * 7 + k * 13) % 60;
        }
        return prompt;
    }

    /**
     * Sequence i joins at step i (so prompts prefill beside decoding sequences) and decodes greedily; each sequence's
     * logits per step. {@code afterStep} gets the number of sequences in the step just run.
     */
    private static List<List<float[]>> run(Transformer model, java.util.function.Function<List<StepChunk>, List<float[][]>> step,
            java.util.function.IntConsumer afterStep) {
        List<Sequence> sequences = new ArrayList<>();
        List<List<float[]>> logits = new ArrayList<>();
        int[] next = new int[PROMPTS.length];
        for (int s = 0; s < STEPS; s++) {
            if (s < PROMPTS.length) {
                sequences.add(model.newSequence());
                logits.add(new ArrayList<>());
            }
            List<StepChunk> chunks = new ArrayList<>();
            for (int i = 0; i < sequences.size(); i++) {
                int[] tokens = sequences.get(i).length() == 0 ? PROMPTS[i] : new int[] {next[i]};
                chunks.add(StepChunk.next(sequences.get(i), tokens, false));
            }
            List<float[][]> out = step.apply(chunks);
            afterStep.accept(chunks.size());
            for (int i = 0; i < sequences.size(); i++) {
                logits.get(i).add(out.get(i)[0]);
                next[i] = Logits.argmax(out.get(i)[0]);
            }
        }
        sequences.forEach(model::release);
        return logits;
    }
}
