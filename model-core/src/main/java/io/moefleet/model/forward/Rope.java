package io.moefleet.model.forward;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.RopeScaling;

/**
 * Rotary position embedding over the {@code qk_rope_head_dim} dims of each q head and of the shared rope key, with
 * YaRN frequencies (HF {@code _compute_yarn_parameters}) when the config scales rope. DeepSeek checkpoints rotate
 * adjacent pairs (x[2i], x[2i+1]) by pos * freq[i]; the NeoX half split would be wrong for them.
 */
public final class Rope {

    private final double[] inverseFrequencies;
    private final double magnitude;
    private final boolean adjacentPairs;

    public Rope(ModelConfig config) {
        int dim = config.qkRopeHeadDim();
        double theta = config.ropeTheta();
        RopeScaling yarn = config.ropeScaling();
        inverseFrequencies = new double[dim / 2];
        for (int i = 0; i < dim / 2; i++) {
            inverseFrequencies[i] = 1.0 / Math.pow(theta, 2.0 * i / dim);
        }
        if (yarn != null) {
            double low = correctionDim(yarn.betaFast(), dim, theta, yarn.originalMaxPositionEmbeddings());
            double high = correctionDim(yarn.betaSlow(), dim, theta, yarn.originalMaxPositionEmbeddings());
            if (yarn.truncate()) {
                low = Math.floor(low);
                high = Math.ceil(high);
            }
            low = Math.max(low, 0);
            high = Math.min(high, dim - 1);
            if (low == high) {
                high += 0.001;
            }
            for (int i = 0; i < dim / 2; i++) {
                // ramp 0 keeps the original (extrapolated) frequency, ramp 1 interpolates it by the factor
                double ramp = Math.clamp((i - low) / (high - low), 0.0, 1.0);
                double extrapolated = inverseFrequencies[i];
                inverseFrequencies[i] = extrapolated / yarn.factor() * ramp + extrapolated * (1 - ramp);
            }
        }
        magnitude = yarn != null ? yarn.cosSinFactor() : 1.0;
        adjacentPairs = config.ropeInterleave();
    }

    /** The rotation index at which {@code num_rotations} full turns fit the original context. */
    private static double correctionDim(double rotations, int dim, double theta, int originalMaxPositions) {
        return dim * Math.log(originalMaxPositions / (rotations * 2 * Math.PI)) / (2 * Math.log(theta));
    }

    /** cos and sin of every pair's angle at {@code position}, scaled by YaRN's attention factor. */
    public void angles(int position, float[] cos, float[] sin) {
        for (int i = 0; i < inverseFrequencies.length; i++) {
            double angle = position * inverseFrequencies[i];
            cos[i] = (float) (Math.cos(angle) * magnitude);
            sin[i] = (float) (Math.sin(angle) * magnitude);
        }
    }

    /** Rotates {@code v[offset .. offset + qk_rope_head_dim)} in place. */
    public void rotate(float[] v, int offset, float[] cos, float[] sin) {
        int half = cos.length;
        for (int i = 0; i < half; i++) {
            int a = adjacentPairs ? offset + 2 * i : offset + i;
            int b = adjacentPairs ? a + 1 : a + half;
            float x0 = v[a];
            float x1 = v[b];
            v[a] = x0 * cos[i] - x1 * sin[i];
            v[b] = x0 * sin[i] + x1 * cos[i];
        }
    }
}
