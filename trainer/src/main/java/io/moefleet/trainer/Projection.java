package io.moefleet.trainer;

import io.moefleet.model.compute.MatMul;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * A trainable linear map {@code y = W x}. The forward product is model-core's ({@link MatMul} over the parameter's F32
 * view), so it gives the engine's values bit for bit. Backward: {@code dW += Σ_t dy_t ⊗ x_t} (rows split over the
 * workers) and {@code dx_t += Wᵀ dy_t} (tokens split over the workers). Each kernel sums a vector of columns in a
 * register over all tokens (or rows) before one add to memory, in a fixed order whatever the split.
 */
final class Projection {

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    final Parameter weight;
    private final MatMul matMul;

    Projection(Parameter weight, MatMul matMul) {
        this.weight = weight;
        this.matMul = matMul;
    }

    int rows() {
        return weight.rows();
    }

    int cols() {
        return weight.cols();
    }

    void forward(float[][] x, int n, float[][] y) {
        matMul.multiply(weight.linear(), x, n, y);
    }

    /** Adds this map's share of the gradient to W and, unless {@code dx} is null, to {@code dx[t][0 .. cols)}. */
    void backward(float[][] x, float[][] dy, int n, float[][] dx) {
        int rows = weight.rows();
        int cols = weight.cols();
        float[] w = weight.value();
        float[] dw = weight.grad();
        long work = (long) n * rows * cols;
        Split.range(matMul.workers(), rows, work, (from, to) -> weightGradient(dw, cols, from, to, x, dy, n));
        if (dx != null) {
            Split.range(matMul.workers(), n, work, (from, to) -> inputGradient(w, rows, cols, dy, dx, from, to));
        }
    }

    /** {@code dw[r] += Σ_t dy[t][r] x[t]} for rows {@code [from, to)}. */
    private static void weightGradient(float[] dw, int cols, int from, int to, float[][] x, float[][] dy, int n) {
        int full = cols - cols % F.length();
        for (int r = from; r < to; r++) {
            int base = r * cols;
            for (int c = 0; c < full; c += F.length()) {
                FloatVector sum = FloatVector.zero(F);
                for (int t = 0; t < n; t++) {
                    float g = dy[t][r];
                    if (g != 0f) {
                        sum = FloatVector.fromArray(F, x[t], c).fma(FloatVector.broadcast(F, g), sum);
                    }
                }
                sum.add(FloatVector.fromArray(F, dw, base + c)).intoArray(dw, base + c);
            }
            for (int c = full; c < cols; c++) {
                float sum = 0;
                for (int t = 0; t < n; t++) {
                    sum += dy[t][r] * x[t][c];
                }
                dw[base + c] += sum;
            }
        }
    }

    /** {@code dx[t] += Σ_r dy[t][r] w[r]} for tokens {@code [from, to)}. */
    private static void inputGradient(float[] w, int rows, int cols, float[][] dy, float[][] dx, int from, int to) {
        int full = cols - cols % F.length();
        for (int t = from; t < to; t++) {
            float[] g = dy[t];
            float[] out = dx[t];
            for (int c = 0; c < full; c += F.length()) {
                FloatVector sum = FloatVector.zero(F);
                for (int r = 0; r < rows; r++) {
                    if (g[r] != 0f) {
                        sum = FloatVector.fromArray(F, w, r * cols + c).fma(FloatVector.broadcast(F, g[r]), sum);
                    }
                }
                sum.add(FloatVector.fromArray(F, out, c)).intoArray(out, c);
            }
            for (int c = full; c < cols; c++) {
                float sum = 0;
                for (int r = 0; r < rows; r++) {
                    sum += g[r] * w[r * cols + c];
                }
                out[c] += sum;
            }
        }
    }
}
