package io.moefleet.model.forward;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.weights.MoeWeights;

/**
 * DeepSeek-V3's {@code noaux_tc} gate: sigmoid scores; the correction bias added for selection only; group-limited
 * top-k (a group scores the sum of its two best biased scores, the other groups' scores are masked to 0.0 as Hugging
 * Face does); the chosen experts weighted by their unbiased scores, normalised when {@code norm_topk_prob}, then
 * multiplied by {@code routed_scaling_factor}.
 */
final class ExpertRouter {

    private final MoeWeights w;
    private final int experts;
    private final int topK;
    private final int groups;
    private final int keptGroups;
    private final int groupSize;
    private final boolean normalise;
    private final float scaling;

    private final float[] logits;
    private final float[] scores;
    private final float[] choice;
    private final float[] groupScores;

    ExpertRouter(ModelConfig c, MoeWeights w) {
        this.w = w;
        this.experts = c.nRoutedExperts();
        this.topK = c.numExpertsPerTok();
        this.groups = c.nGroup();
        this.keptGroups = c.topkGroup();
        this.groupSize = experts / groups;
        this.normalise = c.normTopkProb();
        this.scaling = (float) c.routedScalingFactor();
        this.logits = new float[experts];
        this.scores = new float[experts];
        this.choice = new float[experts];
        this.groupScores = new float[groups];
    }

    Routing route(float[] x) {
        w.router().matvec(x, logits);
        for (int e = 0; e < experts; e++) {
            scores[e] = (float) (1.0 / (1.0 + Math.exp(-logits[e])));
            choice[e] = scores[e] + w.correctionBias()[e];
        }
        float groupMargin = Float.POSITIVE_INFINITY;
        boolean[] keptExpert = new boolean[experts];
        if (keptGroups < groups) {
            for (int g = 0; g < groups; g++) {
                groupScores[g] = sumOfBestTwo(choice, g * groupSize, groupSize);
            }
            int[] best = TopK.indices(groupScores, groups, keptGroups + 1);
            groupMargin = groupScores[best[keptGroups - 1]] - groupScores[best[keptGroups]];
            for (int i = 0; i < keptGroups; i++) {
                java.util.Arrays.fill(keptExpert, best[i] * groupSize, (best[i] + 1) * groupSize, true);
            }
            for (int e = 0; e < experts; e++) {
                if (!keptExpert[e]) {
                    choice[e] = 0.0f;
                }
            }
        } else {
            java.util.Arrays.fill(keptExpert, true);
        }
        int candidates = Math.min(experts, topK + 1);
        int[] ranked = TopK.indices(choice, experts, candidates);
        float expertMargin = candidates > topK ? choice[ranked[topK - 1]] - choice[ranked[topK]] : Float.POSITIVE_INFINITY;

        int[] chosen = java.util.Arrays.copyOf(ranked, topK);
        float[] weights = new float[topK];
        float sum = 0;
        for (int k = 0; k < topK; k++) {
            weights[k] = scores[chosen[k]];
            sum += weights[k];
        }
        for (int k = 0; k < topK; k++) {
            if (normalise) {
                weights[k] /= sum + 1e-20f;
            }
            weights[k] *= scaling;
        }
        return new Routing(chosen, weights, expertMargin, groupMargin);
    }

    private static float sumOfBestTwo(float[] v, int from, int n) {
        if (n == 1) {
            return v[from];
        }
        float first = Float.NEGATIVE_INFINITY;
        float second = Float.NEGATIVE_INFINITY;
        for (int i = from; i < from + n; i++) {
            if (v[i] > first) {
                second = first;
                first = v[i];
            } else if (v[i] > second) {
                second = v[i];
            }
        }
        return first + second;
    }
}
