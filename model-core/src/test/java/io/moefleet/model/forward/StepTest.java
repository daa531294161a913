package io.moefleet.model.forward;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.GoldenData;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.weights.Checkpoint;
import io.moefleet.model.weights.ModelWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The step entry point: chunked prefill over cached latents, decode through the absorbed path, batch invariance. */
class StepTest {

    private static Checkpoint checkpoint;
    private static Transformer model;
    private static int[] prompt;

    @BeforeAll
    static void load() {
        checkpoint = Checkpoint.open(GoldenData.checkpoint("tiny-v3"));
        model = new Transformer(checkpoint.config(), ModelWeights.load(checkpoint));
        prompt = GoldenData.forwardCase("tiny-v3").prompt();
    }

    @AfterAll
    static void close() {
        checkpoint.close();
    }

    private static float[][] onePass(int[] tokens) {
        return model.step(List.of(new StepChunk(model.newSequence(), 0, tokens, true))).getFirst();
    }

    @ParameterizedTest(name = "chunks of {0}")
    @ValueSource(ints = {1, 7, 64})
    void chunkedPrefillMatchesOnePass(int chunk) {
        float[][] whole = onePass(prompt);
        Sequence seq = model.newSequence();
        List<float[]> rows = new ArrayList<>();
        for (int p = 0; p < prompt.length; p += chunk) {
            int[] part = Arrays.copyOfRange(prompt, p, Math.min(prompt.length, p + chunk));
            rows.addAll(List.of(model.step(List.of(new StepChunk(seq, p, part, true))).getFirst()));
        }
        assertEquals(prompt.length, seq.length());
        assertEquals(whole.length, rows.size());
        double worst = 0;
        for (int r = 0; r < whole.length; r++) {
            for (int v = 0; v < whole[r].length; v++) {
                worst = Math.max(worst, Math.abs(whole[r][v] - rows.get(r)[v]));
            }
        }
        assertTrue(worst < 1e-4, "chunks of " + chunk + ": max |difference| " + worst);
    }

    @Test
    void aSequenceIsBitwiseTheSameAloneAndInABatchOf16() {
        SplittableRandom random = new SplittableRandom(7);
        int vocab = model.config().vocabSize();
        int[] target = Arrays.copyOf(prompt, 40);

        // alone: a 33-token prefill, then a 7-token chunk, then one decode token
        Sequence alone = model.newSequence();
        float[][] aloneFirst = model.step(List.of(new StepChunk(alone, 0, Arrays.copyOf(target, 33), true))).getFirst();
        float[][] aloneSecond = model.step(List.of(new StepChunk(alone, 33, Arrays.copyOfRange(target, 33, 40), true))).getFirst();
        float[][] aloneDecode = model.step(List.of(StepChunk.next(alone, new int[] {5}, false))).getFirst();

        // the same three steps, each time among 15 other sequences in prefill and decode, the target in the middle
        Sequence inBatch = model.newSequence();
        List<Sequence> others = new ArrayList<>();
        for (int i = 0; i < 15; i++) {
            others.add(model.newSequence());
        }
        float[][][] batched = new float[3][][];
        int[][] targetChunks = {Arrays.copyOf(target, 33), Arrays.copyOfRange(target, 33, 40), {5}};
        for (int s = 0; s < 3; s++) {
            List<StepChunk> batch = new ArrayList<>();
            for (int i = 0; i < 15; i++) {
                int n = 1 + random.nextInt(s == 0 ? 20 : 3);
                int[] tokens = random.ints(n, 0, vocab).toArray();
                batch.add(StepChunk.next(others.get(i), tokens, i % 2 == 0));
                if (i == 7) {
                    batch.add(StepChunk.next(inBatch, targetChunks[s], s < 2));
                }
            }
            batched[s] = model.step(batch).get(8);
        }
        assertBitwiseEqual(aloneFirst, batched[0]);
        assertBitwiseEqual(aloneSecond, batched[1]);
        assertBitwiseEqual(aloneDecode, batched[2]);
    }

    /**
     * Prompts of several lengths beside decode tokens in each step, on one thread and on three: the same bits. The
     * threads claim the step's attention piece by piece (each query of a prompt, each head of a decode token), in an
     * order set by the pieces' cost, so which thread computes which piece changes with the thread count and the timing.
     */
    @Test
    void stepsOfPromptsAndDecodeTokensAreBitwiseTheSameOnOneThreadAndOnThree() {
        try (Workers three = new Workers(3)) {
            Transformer threaded = new Transformer(checkpoint.config(), ModelWeights.load(checkpoint), three);
            SplittableRandom random = new SplittableRandom(11);
            int vocab = model.config().vocabSize();
            List<Sequence> alone = new ArrayList<>();
            List<Sequence> spread = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                alone.add(model.newSequence());
                spread.add(threaded.newSequence());
            }
            for (int step = 0; step < 4; step++) {
                List<StepChunk> one = new ArrayList<>();
                List<StepChunk> many = new ArrayList<>();
                for (int i = 0; i < 6; i++) {
                    boolean prompt = step == 0 || (i + step) % 3 == 0;          // later steps mix new chunks with decodes
                    int[] tokens = random.ints(prompt ? 2 + random.nextInt(30) : 1, 0, vocab).toArray();
                    one.add(StepChunk.next(alone.get(i), tokens, true));
                    many.add(StepChunk.next(spread.get(i), tokens, true));
                }
                List<float[][]> expected = model.step(one);
                List<float[][]> actual = threaded.step(many);
                for (int i = 0; i < 6; i++) {
                    assertBitwiseEqual(expected.get(i), actual.get(i));
                }
            }
        }
    }

    @Test
    void restartingBelowTheCachedLengthRecomputesThatSuffix() {
        Sequence seq = model.newSequence();
        model.step(List.of(new StepChunk(seq, 0, Arrays.copyOf(prompt, 20), false)));
        model.step(List.of(new StepChunk(seq, 20, new int[] {1, 2, 3}, false)));
        float[][] redone = model.step(List.of(new StepChunk(seq, 20, Arrays.copyOfRange(prompt, 20, 30), true))).getFirst();
        assertEquals(30, seq.length());
        float[][] whole = onePass(Arrays.copyOf(prompt, 30));
        for (int i = 0; i < 10; i++) {
            for (int v = 0; v < whole[20 + i].length; v++) {
                assertEquals(whole[20 + i][v], redone[i][v], 1e-4);
            }
        }
    }

    @Test
    void badChunksAreRejectedBeforeAnyStateChanges() {
        Sequence seq = model.newSequence();
        model.step(List.of(StepChunk.next(seq, new int[] {1, 2, 3}, false)));
        int vocab = model.config().vocabSize();
        IllegalArgumentException outside = assertThrows(IllegalArgumentException.class,
                () -> model.step(List.of(StepChunk.next(seq, new int[] {4, vocab}, false))));
        assertTrue(outside.getMessage().contains("outside the vocabulary"), outside.getMessage());
        IllegalArgumentException gap = assertThrows(IllegalArgumentException.class,
                () -> model.step(List.of(new StepChunk(seq, 5, new int[] {4}, false))));
        assertTrue(gap.getMessage().contains("cached positions"), gap.getMessage());
        IllegalArgumentException twice = assertThrows(IllegalArgumentException.class,
                () -> model.step(List.of(StepChunk.next(seq, new int[] {4}, false), StepChunk.next(seq, new int[] {5}, false))));
        assertTrue(twice.getMessage().contains("twice"), twice.getMessage());
        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
                () -> model.step(List.of(new StepChunk(seq, 3, new int[model.config().maxPositionEmbeddings()], false))));
        assertTrue(tooLong.getMessage().contains("max_position_embeddings"), tooLong.getMessage());
        assertEquals(3, seq.length());
    }

    private static void assertBitwiseEqual(float[][] expected, float[][] actual) {
        assertEquals(expected.length, actual.length);
        for (int r = 0; r < expected.length; r++) {
            assertArrayEquals(expected[r], actual[r], 0f, "row " + r);   // delta 0: the same bits (NaN never occurs here)
        }
    }
}
