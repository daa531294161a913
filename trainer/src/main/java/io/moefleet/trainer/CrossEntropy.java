package io.moefleet.trainer;

/**
 * Mean next-token cross-entropy over the scored rows, {@code −log softmax(z)_target} with the log-sum-exp in double,
 * and its gradient {@code (softmax(z) − onehot(target)) / scored}.
 */
final class CrossEntropy {

    private CrossEntropy() {}

    /** The mean loss; writes the gradient of every row of {@code logits} (zero for unscored rows) to {@code dLogits}. */
    static double lossAndGradient(float[][] logits, int[] targets, float[][] dLogits) {
        int scored = 0;
        for (int target : targets) {
            scored += target >= 0 ? 1 : 0;
        }
        double loss = 0;
        for (int t = 0; t < targets.length; t++) {
            float[] z = logits[t];
            float[] d = dLogits[t];
            if (targets[t] < 0) {
                java.util.Arrays.fill(d, 0f);
                continue;
            }
            double max = Double.NEGATIVE_INFINITY;
            for (float v : z) {
                max = Math.max(max, v);
            }
            double sum = 0;
            for (float v : z) {
                sum += Math.exp(v - max);
            }
            double logSum = max + Math.log(sum);
            loss += logSum - z[targets[t]];
            for (int i = 0; i < z.length; i++) {
                d[i] = (float) ((Math.exp(z[i] - logSum) - (i == targets[t] ? 1 : 0)) / scored);
            }
        }
        return scored == 0 ? 0 : loss / scored;
    }
}
