package io.moefleet.model.forward;

import io.moefleet.model.ModelConfig;
import java.util.Arrays;

/**
 * DeepSeek-V3's {@code noaux_tc} gate over one token's router logits: sigmoid scores; the correction bias added for
 * selection only; group-limited top-k (a group scores the sum of its two best biased scores, the other groups' scores
 * are masked to 0.0 as Hugging Face does); the chosen experts weighted by their unbiased scores, normalised when
 * {@code norm_topk_prob}, then multiplied by {@code routed_scaling_factor}. Stateless: safe on any thread.
 */
public final class ExpertRouter {

    private final float[] correctionBias;
    private final int experts;
    private final int topK;
    private final int groups;
    private final int keptGroups;
    private final int groupSize;
    private final boolean normalise;
    private final float scaling;

    public ExpertRouter(ModelConfig c, float[] correctionBias) {
        this.correctionBias = correctionBias;
        this.experts = c.nRoutedExperts();
        this.topK = c.numExpertsPerTok();
        this.groups = c.nGroup();
        this.keptGroups = c.topkGroup();
        this.groupSize = experts / groups;
        this.normalise = c.normTopkProb();
        this.scaling = (float) c.routedScalingFactor();
    }

    public Routing route(float[] logits) {
        float[] scores = new float[experts];
        float[] choice = new float[experts];
        for (int e = 0; e < experts; e++) {
            scores[e] = (float) (1.0 / (1.0 + Math.exp(-logits[e])));
            choice[e] = scores[e] + correctionBias[e];
        }
        float groupMargin = Float.POSITIVE_INFINITY;
        if (keptGroups < groups) {
            float[] groupScores = new float[groups];
            for (int g = 0; g < groups; g++) {
                groupScores[g] = sumOfBestTwo(choice, g * groupSize, groupSize);
            }
            int[] best = TopK.indices(groupScores, groups, keptGroups + 1);
            groupMargin = groupScores[best[keptGroups - 1]] - groupScores[best[keptGroups]];
            boolean[] kept = new boolean[groups];
            for (int i = 0; i < keptGroups; i++) {
                kept[best[i]] = true;
            }
            for (int e = 0; e < experts; e++) {
                if (!kept[e / groupSize]) {
                    choice[e] = 0.0f;
                }
            }
        }
        int candidates = Math.min(experts, topK + 1);
        int[] ranked = TopK.indices(choice, experts, candidates);
        float expertMargin = candidates > topK ? choice[ranked[topK - 1]] - choice[ranked[topK]] : Float.POSITIVE_INFINITY;

        int[] chosen = Arrays.copyOf(ranked, topK);
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
