package io.moefleet.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;

class SequenceSamplerTest {

    private static final float NEG_INF = Float.NEGATIVE_INFINITY;
    private static final int[] NO_PROMPT = {};

    // ---- greedy

    @Test
    void greedyPicksTheArgmax() {
        Random random = new Random(1);
        SequenceSampler sampler = new SequenceSampler(SamplingParams.greedy(), NO_PROMPT, 50);
        for (int step = 0; step < 100; step++) {
            float[] logits = randomLogits(random, 50);
            assertEquals(Logits.argmax(logits), sampler.next(logits));
        }
    }

    @Test
    void greedyTakesTheLowestIdOnATie() {
        SequenceSampler sampler = new SequenceSampler(SamplingParams.greedy(), NO_PROMPT, 5);
        assertEquals(2, sampler.next(new float[] {1f, 2f, 3f, 0f, 3f}));
    }

    @Test
    void temperatureZeroIgnoresTopKTopPMinPAndSeed() {
        Random random = new Random(2);
        for (long seed = 0; seed < 20; seed++) {
            SamplingParams params = SamplingParams.builder()
                    .temperature(0).topK(3).topP(0.5).minP(0.01).seed(seed).build();
            SequenceSampler sampler = new SequenceSampler(params, NO_PROMPT, 8);
            float[] logits = {1f, 1.001f, 1.002f, 1.003f, 1.004f, 1.005f, 1.006f, 1.0061f};
            for (int step = 0; step < 10; step++) {
                assertEquals(7, sampler.next(logits));
            }
            float[] randomLogits = randomLogits(random, 8);
            assertEquals(Logits.argmax(randomLogits), sampler.next(randomLogits));
        }
    }

    // ---- the processors' exact effects, read by a greedy pick between a token and a probe token at a known logit

    @Test
    void repetitionPenaltyDividesAPositiveLogitOfAPromptToken() {
        SamplingParams params = SamplingParams.builder().temperature(0).repetitionPenalty(2).build();
        assertProcessedLogit(2f, () -> new SequenceSampler(params, new int[] {0}, 4), 0, 4f);
    }

    @Test
    void repetitionPenaltyMultipliesANegativeLogit() {
        SamplingParams params = SamplingParams.builder().temperature(0).repetitionPenalty(2).build();
        assertProcessedLogit(-2f, () -> new SequenceSampler(params, new int[] {0}, 4), 0, -1f);
    }

    @Test
    void repetitionPenaltyAppliesOncePerDistinctTokenOfPromptAndGenerated() {
        SamplingParams params = SamplingParams.builder().temperature(0).repetitionPenalty(2).build();
        assertProcessedLogit(2f, () -> new SequenceSampler(params, new int[] {0, 0, 0}, 4), 0, 4f);
        assertProcessedLogit(2f, () -> samplerThatGenerated(params, new int[] {0}, 4, 2, 2, 2), 2, 4f);
        assertProcessedLogit(4f, () -> new SequenceSampler(params, new int[] {0}, 4), 1, 4f);
    }

    @Test
    void presencePenaltyCountsAGeneratedTokenOnceAndIgnoresThePrompt() {
        SamplingParams params = SamplingParams.builder().temperature(0).presencePenalty(0.5).build();
        assertProcessedLogit(10f, () -> samplerThatGenerated(params, new int[] {0}, 4, 1, 2, 2, 2), 0, 10f);
        assertProcessedLogit(9.5f, () -> samplerThatGenerated(params, new int[] {0}, 4, 1, 2, 2, 2), 1, 10f);
        assertProcessedLogit(9.5f, () -> samplerThatGenerated(params, new int[] {0}, 4, 1, 2, 2, 2), 2, 10f);
    }

    @Test
    void frequencyPenaltyCountsEveryGeneration() {
        SamplingParams params = SamplingParams.builder().temperature(0).frequencyPenalty(0.25).build();
        assertProcessedLogit(10f, () -> samplerThatGenerated(params, new int[] {0}, 4, 1, 2, 2, 2), 0, 10f);
        assertProcessedLogit(9.75f, () -> samplerThatGenerated(params, new int[] {0}, 4, 1, 2, 2, 2), 1, 10f);
        assertProcessedLogit(9.25f, () -> samplerThatGenerated(params, new int[] {0}, 4, 1, 2, 2, 2), 2, 10f);
    }

    @Test
    void presenceAndFrequencyPenaltiesAdd() {
        SamplingParams params = SamplingParams.builder()
                .temperature(0).presencePenalty(0.5).frequencyPenalty(0.25).build();
        assertProcessedLogit(10f, () -> samplerThatGenerated(params, new int[] {0}, 4, 1, 2, 2, 2), 0, 10f);
        assertProcessedLogit(9.25f, () -> samplerThatGenerated(params, new int[] {0}, 4, 1, 2, 2, 2), 1, 10f);
        assertProcessedLogit(8.75f, () -> samplerThatGenerated(params, new int[] {0}, 4, 1, 2, 2, 2), 2, 10f);
    }

    @Test
    void negativePenaltiesRaiseTheLogit() {
        SamplingParams params = SamplingParams.builder()
                .temperature(0).presencePenalty(-1).frequencyPenalty(-0.5).build();
        assertProcessedLogit(12.5f, () -> samplerThatGenerated(params, NO_PROMPT, 4, 2, 2, 2), 2, 10f);
    }

    @Test
    void repetitionPenaltyComesAfterPresenceAndFrequency() {
        // (3 - 1) / 2 = 1; the other order would give 3 / 2 - 1 = 0.5
        SamplingParams params = SamplingParams.builder()
                .temperature(0).presencePenalty(1).repetitionPenalty(2).build();
        assertProcessedLogit(1f, () -> samplerThatGenerated(params, NO_PROMPT, 4, 2), 2, 3f);
    }

    @Test
    void logitBiasIsAddedBeforeThePenalties() {
        // (1 + 3) / 2 = 2; the other order would give 1 / 2 + 3 = 3.5
        SamplingParams params = SamplingParams.builder()
                .temperature(0).logitBias(Map.of(0, 3f)).repetitionPenalty(2).build();
        assertProcessedLogit(2f, () -> new SequenceSampler(params, new int[] {0}, 4), 0, 1f);
    }

    @Test
    void logitBiasIsAdded() {
        SamplingParams params = SamplingParams.builder().temperature(0).logitBias(Map.of(0, -0.75f)).build();
        assertProcessedLogit(0.25f, () -> new SequenceSampler(params, NO_PROMPT, 4), 0, 1f);
    }

    @Test
    void logitBiasOfOneHundredForcesAToken() {
        SamplingParams params = SamplingParams.builder().logitBias(Map.of(3, 100f)).seed(5).build();
        SequenceSampler sampler = new SequenceSampler(params, NO_PROMPT, 4);
        for (int step = 0; step < 200; step++) {
            assertEquals(3, sampler.next(new float[] {20f, 19f, 18f, -40f}));
        }
    }

    @Test
    void logitBiasOfMinusOneHundredBansAToken() {
        SamplingParams params = SamplingParams.builder().logitBias(Map.of(0, -100f)).seed(5).build();
        SequenceSampler sampler = new SequenceSampler(params, NO_PROMPT, 3);
        for (int step = 0; step < 200; step++) {
            assertNotEquals(0, sampler.next(new float[] {20f, 0f, 0f}));
        }
    }

    @Test
    void maskForbidsTheArgmax() {
        SequenceSampler sampler = new SequenceSampler(SamplingParams.greedy(), NO_PROMPT, 3);
        assertEquals(2, sampler.next(new float[] {0f, 5f, 3f}, id -> id != 1));
    }

    @Test
    void maskComesBeforeLogitBiasAndPenalties() {
        SamplingParams params = SamplingParams.builder()
                .logitBias(Map.of(1, 100f)).presencePenalty(-2).repetitionPenalty(0.01).seed(3).build();
        SequenceSampler sampler = samplerThatGenerated(params, new int[] {1}, 3, 1);
        for (int step = 0; step < 200; step++) {
            assertNotEquals(1, sampler.next(new float[] {0f, 5f, 0f}, id -> id != 1));
        }
    }

    @Test
    void aFullyMaskedDistributionIsAnError() {
        float[] logits = {1f, 2f, 3f};
        for (SamplingParams params : new SamplingParams[] {SamplingParams.greedy(), SamplingParams.builder().build()}) {
            SequenceSampler sampler = new SequenceSampler(params, NO_PROMPT, 3);
            IllegalStateException error = assertThrows(IllegalStateException.class,
                    () -> sampler.next(logits, id -> false));
            assertTrue(error.getMessage().contains("masked"), error.getMessage());
            assertEquals(0, sampler.generated().length, "a failed step records nothing");
        }
    }

    // ---- the filters at their extremes

    @Test
    void topKOfOneTopPTinyAndMinPOfOneAlwaysGiveTheArgmax() {
        SamplingParams[] argmaxOnly = {
                SamplingParams.builder().topK(1).seed(1).build(),
                SamplingParams.builder().topP(1e-9).seed(2).build(),
                SamplingParams.builder().minP(1).seed(3).build(),
        };
        Random random = new Random(3);
        for (SamplingParams params : argmaxOnly) {
            SequenceSampler sampler = new SequenceSampler(params, NO_PROMPT, 16);
            for (int step = 0; step < 300; step++) {
                float[] logits = randomLogits(random, 16);
                assertEquals(Logits.argmax(logits), sampler.next(logits), params::toString);
            }
        }
    }

    @Test
    void topKKeepsEveryTokenTiedWithTheKthLargest() {
        SamplingParams params = SamplingParams.builder().topK(1).seed(11).build();
        assertEquals(Set.of(0, 2), drawnTokens(params, new float[] {5f, 1f, 5f, 4.99f}, 400));
    }

    @Test
    void minPOfOneKeepsEveryTokenTiedWithTheLargest() {
        SamplingParams params = SamplingParams.builder().minP(1).seed(12).build();
        assertEquals(Set.of(1, 3), drawnTokens(params, new float[] {2f, 3f, 2.99f, 3f}, 400));
    }

    @Test
    void topKComesBeforeTopPWhichSeesTheRenormalisedDistribution() {
        float[] logits = logitsOf(0.4, 0.3, 0.2, 0.1);
        // after top-k = 2 the head has probability 0.4 / 0.7 > 0.5, so top-p = 0.5 keeps it alone
        SamplingParams both = SamplingParams.builder().topK(2).topP(0.5).seed(13).build();
        assertEquals(Set.of(0), drawnTokens(both, logits, 400));
        // on the full distribution the head's 0.4 does not reach 0.5
        SamplingParams topPOnly = SamplingParams.builder().topP(0.5).seed(13).build();
        assertEquals(Set.of(0, 1), drawnTokens(topPOnly, logits, 400));
    }

    @Test
    void topKLargerThanTheVocabularyKeepsEverything() {
        SamplingParams params = SamplingParams.builder().topK(100).seed(14).build();
        assertEquals(Set.of(0, 1, 2), drawnTokens(params, new float[] {0f, 0f, 0f}, 200));
    }

    @Test
    void onALargeVocabularyTopKAndTopPKeepExactlyTheHeadAReferenceSortFinds() {
        // a few strong tokens at scattered ids over a long tail holding about a tenth of the mass
        int vocabSize = 4096;
        Random random = new Random(15);
        float[] logits = new float[vocabSize];
        for (int id = 0; id < vocabSize; id++) {
            logits[id] = (float) random.nextGaussian();
        }
        for (int rank = 0; rank < 8; rank++) {
            logits[random.nextInt(vocabSize)] = 10f - 0.5f * rank;
        }
        Integer[] byLogit = referenceOrder(logits);

        Set<Integer> topFive = new TreeSet<>(Arrays.asList(byLogit).subList(0, 5));
        assertEquals(topFive, drawnTokens(SamplingParams.builder().topK(5).seed(16).build(), logits, 2000));

        double total = 0;
        for (float logit : logits) {
            total += Math.exp(logit);
        }
        Set<Integer> topPPrefix = new TreeSet<>();
        double cumulative = 0;
        for (int id : byLogit) {
            if (cumulative >= 0.8 * total) {
                break;
            }
            topPPrefix.add(id);
            cumulative += Math.exp(logits[id]);
        }
        assertTrue(topPPrefix.size() > 1 && topPPrefix.size() < 8, "the prefix should cut inside the strong tokens");
        assertEquals(topPPrefix, drawnTokens(SamplingParams.builder().topP(0.8).seed(17).build(), logits, 2000));
    }

    // ---- seeds and independence

    @Test
    void theSameSeedGivesTheSameDraws() {
        SamplingParams params = SamplingParams.builder().temperature(1.3).topK(50).topP(0.95).seed(42).build();
        float[][] steps = randomSteps(7, 200, 64);
        assertArrayEquals(run(params, steps), run(params, steps));
    }

    @Test
    void differentSeedsGiveDifferentDraws() {
        float[][] steps = randomSteps(8, 200, 64);
        int[] first = run(SamplingParams.builder().seed(1).build(), steps);
        int[] second = run(SamplingParams.builder().seed(2).build(), steps);
        assertFalse(Arrays.equals(first, second));
    }

    @Test
    void withoutASeedEachSamplerChoosesItsOwn() {
        SequenceSampler first = new SequenceSampler(SamplingParams.builder().build(), NO_PROMPT, 4);
        SequenceSampler second = new SequenceSampler(SamplingParams.builder().build(), NO_PROMPT, 4);
        assertNotEquals(first.seed(), second.seed());
        assertEquals(42, new SequenceSampler(SamplingParams.builder().seed(42).build(), NO_PROMPT, 4).seed());
    }

    @Test
    void interleavedSamplersDrawAsTheyWouldAlone() {
        SamplingParams paramsA = SamplingParams.builder().temperature(0.9).presencePenalty(0.3).seed(100).build();
        SamplingParams paramsB = SamplingParams.builder().temperature(1.5).topP(0.9).seed(200).build();
        float[][] stepsA = randomSteps(9, 150, 32);
        float[][] stepsB = randomSteps(10, 150, 32);
        int[] aloneA = run(paramsA, stepsA);
        int[] aloneB = run(paramsB, stepsB);

        SequenceSampler a = new SequenceSampler(paramsA, new int[] {1, 2}, 32);
        SequenceSampler b = new SequenceSampler(paramsB, new int[] {1, 2}, 32);
        for (int step = 0; step < 150; step++) {
            if (step % 3 == 0) {                    // vary who goes first, as a batch scheduler might
                b.next(stepsB[step]);
                a.next(stepsA[step]);
            } else {
                a.next(stepsA[step]);
                b.next(stepsB[step]);
            }
        }
        assertArrayEquals(aloneA, a.generated());
        assertArrayEquals(aloneB, b.generated());
    }

    // ---- bookkeeping and argument checks

    @Test
    void generatedListsThePickedTokensInOrder() {
        SequenceSampler sampler = new SequenceSampler(SamplingParams.greedy(), NO_PROMPT, 3);
        int[] picks = {sampler.next(new float[] {0f, 1f, 0f}), sampler.next(new float[] {2f, 1f, 0f}),
                sampler.next(new float[] {0f, 1f, 3f})};
        assertArrayEquals(new int[] {1, 0, 2}, picks);
        assertArrayEquals(new int[] {1, 0, 2}, sampler.generated());
        sampler.generated()[0] = 9;
        assertArrayEquals(new int[] {1, 0, 2}, sampler.generated(), "generated() returns a copy");
    }

    @Test
    void theCallersLogitsAreNotModified() {
        SamplingParams params = SamplingParams.builder().logitBias(Map.of(0, 5f)).presencePenalty(1)
                .repetitionPenalty(1.5).topK(2).topP(0.9).minP(0.1).seed(4).build();
        SequenceSampler sampler = new SequenceSampler(params, new int[] {0, 1}, 4);
        float[] logits = {1f, -2f, 0.5f, 3f};
        float[] original = logits.clone();
        for (int step = 0; step < 5; step++) {
            sampler.next(logits, id -> id != 3);
        }
        assertArrayEquals(original, logits);
    }

    @Test
    void rejectsBadArguments() {
        SamplingParams params = SamplingParams.builder().build();
        assertThrows(IllegalArgumentException.class, () -> new SequenceSampler(params, NO_PROMPT, 0));
        assertThrows(IllegalArgumentException.class, () -> new SequenceSampler(params, new int[] {4}, 4));
        assertThrows(IllegalArgumentException.class, () -> new SequenceSampler(params, new int[] {-1}, 4));
        assertThrows(IllegalArgumentException.class,
                () -> new SequenceSampler(SamplingParams.builder().logitBias(Map.of(4, 1f)).build(), NO_PROMPT, 4));

        SequenceSampler sampler = new SequenceSampler(params, NO_PROMPT, 4);
        assertThrows(IllegalArgumentException.class, () -> sampler.next(new float[3]));
        assertThrows(IllegalArgumentException.class, () -> sampler.next(new float[] {0f, Float.NaN, 0f, 0f}));
        assertThrows(IllegalArgumentException.class,
                () -> sampler.next(new float[] {0f, Float.POSITIVE_INFINITY, 0f, 0f}));
        assertEquals(3, sampler.next(new float[] {NEG_INF, NEG_INF, NEG_INF, 0f}), "-inf logits are allowed");
    }

    // ---- helpers

    /**
     * Asserts that the token's logit, after the sampler's processing, is {@code expected} (within 0.01): a greedy pick
     * between it and a never-seen probe token whose logit sits just below, then just above, that value.
     */
    private static void assertProcessedLogit(float expected, Supplier<SequenceSampler> sampler,
                                             int token, float rawLogit) {
        int probe = 3;
        assertNotEquals(probe, token);
        for (float offset : new float[] {-0.01f, 0.01f}) {
            float[] logits = {NEG_INF, NEG_INF, NEG_INF, NEG_INF};
            logits[token] = rawLogit;
            logits[probe] = expected + offset;
            int winner = offset < 0 ? token : probe;
            assertEquals(winner, sampler.get().next(logits),
                    "token " + token + " processed from " + rawLogit + " against a probe at " + (expected + offset));
        }
    }

    /** A sampler that has already generated the given tokens (each forced through a mask). */
    private static SequenceSampler samplerThatGenerated(SamplingParams params, int[] prompt, int vocabSize,
                                                        int... generated) {
        SequenceSampler sampler = new SequenceSampler(params, prompt, vocabSize);
        for (int token : generated) {
            assertEquals(token, sampler.next(new float[vocabSize], id -> id == token));
        }
        return sampler;
    }

    private static Set<Integer> drawnTokens(SamplingParams params, float[] logits, int draws) {
        SequenceSampler sampler = new SequenceSampler(params, NO_PROMPT, logits.length);
        Set<Integer> drawn = new TreeSet<>();
        for (int i = 0; i < draws; i++) {
            drawn.add(sampler.next(logits));
        }
        return drawn;
    }

    /** Token ids by logit, largest first, by a plain comparison sort. */
    private static Integer[] referenceOrder(float[] logits) {
        Integer[] ids = new Integer[logits.length];
        for (int id = 0; id < ids.length; id++) {
            ids[id] = id;
        }
        Arrays.sort(ids, (a, b) -> Float.compare(logits[b], logits[a]));
        return ids;
    }

    private static int[] run(SamplingParams params, float[][] steps) {
        SequenceSampler sampler = new SequenceSampler(params, new int[] {1, 2}, steps[0].length);
        for (float[] logits : steps) {
            sampler.next(logits);
        }
        return sampler.generated();
    }

    private static float[][] randomSteps(long seed, int steps, int vocabSize) {
        Random random = new Random(seed);
        float[][] logits = new float[steps][];
        for (int step = 0; step < steps; step++) {
            logits[step] = randomLogits(random, vocabSize);
        }
        return logits;
    }

    private static float[] randomLogits(Random random, int vocabSize) {
        float[] logits = new float[vocabSize];
        for (int id = 0; id < vocabSize; id++) {
            logits[id] = (float) random.nextGaussian();
        }
        return logits;
    }

    static float[] logitsOf(double... probabilities) {
        float[] logits = new float[probabilities.length];
        for (int id = 0; id < logits.length; id++) {
            logits[id] = (float) Math.log(probabilities[id]);
        }
        return logits;
    }
}
