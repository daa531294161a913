package io.moefleet.trainer;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.forward.ExpertRouter;
import io.moefleet.model.forward.Routing;
import java.util.Arrays;

/**
 * The noaux_tc gate: logits {@code W x}, then model-core's {@link ExpertRouter} picks the experts (sigmoid scores plus
 * the correction bias, group-limited top-k) and weights them from the unbiased scores. The choice is piecewise
 * constant, so gradients flow only through the chosen weights: with {@code s = sigmoid(logit)},
 * {@code w_k = c s_k / S} ({@code S = Σ_chosen s}, normalised) or {@code w_k = c s_k}. The bias gets no gradient:
 * the {@link LoadBalancer} moves it.
 */
final class Router {

    final Projection gate;
    final Parameter bias;
    private final ExpertRouter chooser;
    private final boolean normalise;
    private final double scaling;

    Router(ModelConfig c, Projection gate, Parameter bias) {
        this.gate = gate;
        this.bias = bias;
        this.chooser = new ExpertRouter(c, bias.value());      // reads the bias live
        this.normalise = c.normTopkProb();
        this.scaling = (float) c.routedScalingFactor();          // the float the forward multiplies by
    }

    int experts() {
        return gate.rows();
    }

    void forward(float[][] x, int n, float[][] logits, Routing[] routings) {
        gate.forward(x, n, logits);
        for (int t = 0; t < n; t++) {
            routings[t] = chooser.route(logits[t]);
        }
    }

    /** {@code dWeights[t][k]}: the loss's gradient in token t's k-th combine weight. Adds to W's gradient and to dx. */
    void backward(float[][] x, float[][] logits, Routing[] routings, float[][] dWeights, int n, float[][] dx, float[][] dLogits) {
        for (int t = 0; t < n; t++) {
            Arrays.fill(dLogits[t], 0, experts(), 0f);
            int[] chosen = routings[t].experts();
            int k = chosen.length;
            float[] s = new float[k];
            float sum = 0;
            for (int i = 0; i < k; i++) {
                s[i] = (float) (1.0 / (1.0 + Math.exp(-logits[t][chosen[i]])));   // ExpertRouter's arithmetic
                sum += s[i];
            }
            double denominator = sum + 1e-20f;
            double along = 0;
            for (int i = 0; i < k; i++) {
                along += dWeights[t][i] * s[i];
            }
            for (int i = 0; i < k; i++) {
                double ds = normalise
                        ? scaling * (dWeights[t][i] / denominator - along / (denominator * denominator))
                        : scaling * dWeights[t][i];
                dLogits[t][chosen[i]] = (float) (ds * s[i] * (1 - s[i]));
            }
        }
        gate.backward(x, dLogits, n, dx);
    }
}
