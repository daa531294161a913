package io.moefleet.model.forward;

/** RMSNorm as the reference computes it in float32: {@code w * x / sqrt(mean(x^2) + eps)}, the weight used as stored. */
public final class RmsNorm {

    private RmsNorm() {}

    public static void apply(float[] x, int xOffset, int n, float[] weight, double eps, float[] out, int outOffset) {
        double sumSquares = 0;
        for (int i = 0; i < n; i++) {
            float v = x[xOffset + i];
            sumSquares += v * v;
        }
        float inverseRms = (float) (1.0 / Math.sqrt(sumSquares / n + eps));
        for (int i = 0; i < n; i++) {
            out[outOffset + i] = weight[i] * (x[xOffset + i] * inverseRms);
        }
    }
}
