package io.moefleet.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.forward.Sequence;
import io.moefleet.model.forward.StepChunk;
import io.moefleet.model.forward.Transformer;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The pass bar of the golden data: every row of logits within 1e-4, greedy continuation identical. BF16, FP8 and sharded. */
class GoldenForwardTest {

    private static final double TOLERANCE = 1e-4;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-k2", "tiny-v3", "tiny-k2-fp8"})
    void logitsOfEveryPositionMatchTheReference(String name) {
        GoldenData.Case golden = GoldenData.forwardCase(name);
        try (Checkpoint checkpoint = Checkpoint.open(golden.model())) {
            Transformer model = new Transformer(checkpoint.config(), ModelWeights.load(checkpoint));
            Sequence seq = model.newSequence();
            float[][] logits = model.step(List.of(new StepChunk(seq, 0, golden.inputIds(), true))).getFirst();

            assertEquals(golden.logits().length, logits.length);
            double worst = 0;
            int worstRow = -1;
            for (int r = 0; r < logits.length; r++) {
                for (int v = 0; v < logits[r].length; v++) {
                    double d = Math.abs(logits[r][v] - golden.logits()[r][v]);
                    if (d > worst || Double.isNaN(d)) {
                        worst = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d;
                        worstRow = r;
                    }
                }
            }
            System.err.printf("%s: max |logit - reference| = %.3g (row %d)%n", name, worst, worstRow);
            assertTrue(worst < TOLERANCE, name + ": max |logit difference| " + worst + " at row " + worstRow);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-k2", "tiny-v3", "tiny-k2-fp8"})
    void greedyContinuationIsIdentical(String name) {
        GoldenData.Case golden = GoldenData.forwardCase(name);
        try (Checkpoint checkpoint = Checkpoint.open(golden.model())) {
            Transformer model = new Transformer(checkpoint.config(), ModelWeights.load(checkpoint));
            Sequence seq = model.newSequence();
            float[] last = model.step(List.of(StepChunk.next(seq, golden.prompt(), false))).getFirst()[0];
            int[] generated = new int[golden.greedy().length];
            for (int i = 0; i < generated.length; i++) {
                generated[i] = argmax(last);
                last = model.step(List.of(StepChunk.next(seq, new int[] {generated[i]}, false))).getFirst()[0];
            }
            assertArrayEquals(golden.greedy(), generated, name + ": greedy ids");
        }
    }

    static int argmax(float[] v) {
        int best = 0;
        for (int i = 1; i < v.length; i++) {
            if (v[i] > v[best]) {
                best = i;
            }
        }
        return best;
    }
}
