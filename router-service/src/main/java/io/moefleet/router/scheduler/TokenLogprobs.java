package io.moefleet.router.scheduler;

import java.util.List;

/**
 * The log-probabilities of one generated token under the model's own distribution (the raw logits' log-softmax, before
 * any mask, bias, penalty or temperature, as vLLM reports them by default), and of the step's most likely tokens.
 *
 * @param top the {@code n} most likely tokens of the step, most likely first (ties: lower id first)
 */
public record TokenLogprobs(int token, float logprob, List<Candidate> top) {

    public record Candidate(int token, float logprob) {}

    /** The log-probability of {@code token} and the {@code topN} best tokens under {@code logits}. */
    public static TokenLogprobs of(float[] logits, int token, int topN) {
        float max = Float.NEGATIVE_INFINITY;
        for (float logit : logits) {
            max = Math.max(max, logit);
        }
        double sum = 0;
        for (float logit : logits) {
            sum += Math.exp(logit - max);
        }
        float logZ = (float) (max + Math.log(sum));
        int[] best = topIds(logits, topN);
        Candidate[] top = new Candidate[best.length];
        for (int i = 0; i < best.length; i++) {
            top[i] = new Candidate(best[i], logits[best[i]] - logZ);
        }
        return new TokenLogprobs(token, logits[token] - logZ, List.of(top));
    }

    /** The ids of the {@code n} largest logits, largest first, lower id first on ties; a partial insertion sort. */
    private static int[] topIds(float[] logits, int n) {
        int k = Math.min(n, logits.length);
        int[] ids = new int[k];
        int size = 0;
        for (int id = 0; id < logits.length; id++) {
            if (size == k && (k == 0 || logits[id] <= logits[ids[k - 1]])) {
                continue;
            }
            int at = size < k ? size++ : k - 1;
            while (at > 0 && logits[ids[at - 1]] < logits[id]) {
                ids[at] = ids[at - 1];
                at--;
            }
            ids[at] = id;
        }
        return ids;
    }
}
