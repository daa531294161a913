package io.moefleet.sampling;

import java.util.Arrays;

/**
 * The tokens one sequence has seen so far, for the penalties: the prompt's and the generated ones as a set,
 * and how often each token was generated.
 */
final class TokenHistory {

    private final int[] generationCounts;          // by token id
    private final boolean[] seen;                  // by token id: in the prompt or generated
    private int[] seenTokens = new int[64];        // the distinct seen ids, so penalties touch only those
    private int seenTokenCount;
    private int[] generated = new int[64];
    private int generatedCount;

    TokenHistory(int[] promptTokens, int vocabSize) {
        generationCounts = new int[vocabSize];
        seen = new boolean[vocabSize];
        for (int i = 0; i < promptTokens.length; i++) {
            int token = promptTokens[i];
            if (token < 0 || token >= vocabSize) {
                throw new IllegalArgumentException(
                        "promptTokens[" + i + "] = " + token + " is not a token id in [0, " + vocabSize + ")");
            }
            markSeen(token);
        }
    }

    void recordGenerated(int token) {
        if (generatedCount == generated.length) {
            generated = Arrays.copyOf(generated, 2 * generatedCount);
        }
        generated[generatedCount++] = token;
        generationCounts[token]++;
        markSeen(token);
    }

    int[] generated() {
        return Arrays.copyOf(generated, generatedCount);
    }

    /** OpenAI's penalties: {@code logit -= presence * (count > 0 ? 1 : 0) + frequency * count}. */
    void applyPresenceAndFrequencyPenalties(float[] logits, double presence, double frequency) {
        for (int i = 0; i < seenTokenCount; i++) {
            int token = seenTokens[i];
            int count = generationCounts[token];
            if (count > 0) {
                logits[token] = (float) (logits[token] - (presence + frequency * count));
            }
        }
    }

    /** Hugging Face's RepetitionPenaltyLogitsProcessor: once per distinct seen token, whatever its count. */
    void applyRepetitionPenalty(float[] logits, double penalty) {
        for (int i = 0; i < seenTokenCount; i++) {
            int token = seenTokens[i];
            float logit = logits[token];
            logits[token] = (float) (logit > 0 ? logit / penalty : logit * penalty);
        }
    }

    private void markSeen(int token) {
        if (seen[token]) {
            return;
        }
        seen[token] = true;
        if (seenTokenCount == seenTokens.length) {
            seenTokens = Arrays.copyOf(seenTokens, 2 * seenTokenCount);
        }
        seenTokens[seenTokenCount++] = token;
    }
}
