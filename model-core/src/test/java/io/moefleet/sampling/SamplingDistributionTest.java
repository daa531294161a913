package io.moefleet.sampling;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Statistical checks: the frequencies of many seeded draws against the probabilities the settings imply. A count
 * may stray from its expectation n p by at most 5 standard deviations sqrt(n p (1 - p)); a token with probability 0
 * must never be drawn.
 */
class SamplingDistributionTest {

    private static final int DRAWS = 20_000;
    private static final double STANDARD_DEVIATIONS = 5;

    @Test
    void temperatureOneDrawsTheModelsDistribution() {
        // shifted by 3 to show the absolute level of the logits does not matter
        float[] logits = shifted(SequenceSamplerTest.logitsOf(0.1, 0.2, 0.3, 0.4), 3f);
        assertFrequencies(SamplingParams.builder().seed(1).build(), logits, 0.1, 0.2, 0.3, 0.4);
    }

    @Test
    void temperatureOneHalfSquaresTheProbabilities() {
        float[] logits = SequenceSamplerTest.logitsOf(0.1, 0.2, 0.3, 0.4);
        assertFrequencies(SamplingParams.builder().temperature(0.5).seed(2).build(), logits,
                0.01 / 0.30, 0.04 / 0.30, 0.09 / 0.30, 0.16 / 0.30);
    }

    @Test
    void topPRemovesTheTail() {
        // the head 0.5 + 0.3 is the smallest prefix reaching 0.75; it is renormalised to 0.625 and 0.375
        float[] logits = SequenceSamplerTest.logitsOf(0.5, 0.3, 0.15, 0.05);
        assertFrequencies(SamplingParams.builder().topP(0.75).seed(3).build(), logits, 0.625, 0.375, 0, 0);
    }

    @Test
    void topKKeepsTheKMostProbable() {
        float[] logits = SequenceSamplerTest.logitsOf(0.3, 0.1, 0.4, 0.2);
        assertFrequencies(SamplingParams.builder().topK(2).seed(4).build(), logits, 3.0 / 7, 0, 4.0 / 7, 0);
    }

    @Test
    void minPRemovesTokensBelowAFractionOfTheLargest() {
        // the threshold is 0.2 * 0.5 = 0.1: 0.15 stays, 0.05 goes
        float[] logits = SequenceSamplerTest.logitsOf(0.05, 0.5, 0.15, 0.3);
        assertFrequencies(SamplingParams.builder().minP(0.2).seed(5).build(), logits,
                0, 0.5 / 0.95, 0.15 / 0.95, 0.3 / 0.95);
    }

    private static void assertFrequencies(SamplingParams params, float[] logits, double... expected) {
        SequenceSampler sampler = new SequenceSampler(params, new int[0], logits.length);
        int[] counts = new int[logits.length];
        for (int draw = 0; draw < DRAWS; draw++) {
            counts[sampler.next(logits)]++;
        }
        for (int token = 0; token < logits.length; token++) {
            double p = expected[token];
            if (p == 0) {
                assertEquals(0, counts[token], "token " + token + " is filtered out, yet was drawn");
                continue;
            }
            double mean = DRAWS * p;
            double bound = STANDARD_DEVIATIONS * Math.sqrt(DRAWS * p * (1 - p));
            int count = counts[token];
            assertTrue(Math.abs(count - mean) <= bound, "token " + token + " drawn " + count
                    + " times in " + DRAWS + ", expected " + mean + " +- " + bound);
        }
    }

    private static float[] shifted(float[] logits, float shift) {
        float[] result = new float[logits.length];
        for (int id = 0; id < logits.length; id++) {
            result[id] = logits[id] + shift;
        }
        return result;
    }
}
