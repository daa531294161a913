package io.moefleet.trainer;

import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.VectorMath;

/**
 * A trainable linear map {@code y = W x}. The forward product is model-core's ({@link MatMul} over the parameter's F32
 * view), so it gives the engine's values bit for bit. Backward: {@code dW += Σ_t dy_t ⊗ x_t} (rows split over the
 * workers) and {@code dx_t += Wᵀ dy_t} (tokens split over the workers); each sum runs in a fixed order.
 */
final class Projection {

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
        int cols = weight.cols();
        float[] w = weight.value();
        float[] dw = weight.grad();
        long work = (long) n * weight.rows() * cols;
        Split.range(matMul.workers(), weight.rows(), work, (from, to) -> {
            for (int r = from; r < to; r++) {
                for (int t = 0; t < n; t++) {
                    float g = dy[t][r];
                    if (g != 0f) {
                        VectorMath.axpy(g, x[t], 0, dw, r * cols, cols);
                    }
                }
            }
        });
        if (dx == null) {
            return;
        }
        int rows = weight.rows();
        Split.range(matMul.workers(), n, work, (from, to) -> {
            for (int t = from; t < to; t++) {
                float[] d = dy[t];
                for (int r = 0; r < rows; r++) {
                    if (d[r] != 0f) {
                        VectorMath.axpy(d[r], w, r * cols, dx[t], 0, cols);
                    }
                }
            }
        });
    }
}
