package io.moefleet.trainer;

import io.moefleet.model.forward.RmsNorm;

/**
 * A trainable RMSNorm over the first {@code dim} values of each row: the forward is model-core's {@link RmsNorm}.
 * With {@code r = (mean(x²) + eps)^-1/2}, {@code y_i = w_i x_i r}, so {@code dw_i = Σ_t dy_i x_i r} and
 * {@code dx_i = r w_i dy_i − x_i r³ (Σ_j w_j dy_j x_j) / dim}.
 */
final class Norm {

    final Parameter weight;
    private final double eps;

    Norm(Parameter weight, double eps) {
        this.weight = weight;
        this.eps = eps;
    }

    void forward(float[][] x, int n, float[][] y) {
        int dim = weight.cols();
        for (int t = 0; t < n; t++) {
            RmsNorm.apply(x[t], 0, dim, weight.value(), eps, y[t], 0);
        }
    }

    /** Adds to the weight's gradient and to {@code dx[t][0 .. dim)}. */
    void backward(float[][] x, float[][] dy, int n, float[][] dx) {
        int dim = weight.cols();
        float[] w = weight.value();
        float[] dw = weight.grad();
        for (int t = 0; t < n; t++) {
            float[] xt = x[t];
            float[] g = dy[t];
            double sumSquares = 0;
            double weighted = 0;
            for (int i = 0; i < dim; i++) {
                sumSquares += (double) xt[i] * xt[i];
                weighted += (double) w[i] * g[i] * xt[i];
            }
            double r = 1.0 / Math.sqrt(sumSquares / dim + eps);
            double along = weighted * r * r * r / dim;
            for (int i = 0; i < dim; i++) {
                dw[i] += (float) (g[i] * xt[i] * r);
                dx[t][i] += (float) (r * w[i] * g[i] - xt[i] * along);
            }
        }
    }
}
