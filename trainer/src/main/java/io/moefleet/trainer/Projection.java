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

    /**
     * {@code dw[r] += Σ_t dy[t][r] x[t]} for rows {@code [from, to)}. Tiles of two rows by four vectors of columns keep
     * eight sums in registers, so the fused multiply-adds do not wait on each other; each column still sums its tokens
     * in order, so this equals {@link #referenceWeightGradient} bit for bit.
     */
    static void weightGradient(float[] dw, int cols, int from, int to, float[][] x, float[][] dy, int n) {
        int lanes = F.length();
        int tiled = cols - cols % (4 * lanes);
        int full = cols - cols % lanes;
        int r = from;
        for (; r + 1 < to; r += 2) {
            int r0 = r;
            int r1 = r + 1;
            for (int c = 0; c < tiled; c += 4 * lanes) {
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                for (int t = 0; t < n; t++) {
                    float g0 = dy[t][r0];
                    float g1 = dy[t][r1];
                    if (g0 == 0f && g1 == 0f) {
                        continue;
                    }
                    float[] xt = x[t];
                    FloatVector x0 = FloatVector.fromArray(F, xt, c);
                    FloatVector x1 = FloatVector.fromArray(F, xt, c + lanes);
                    FloatVector x2 = FloatVector.fromArray(F, xt, c + 2 * lanes);
                    FloatVector x3 = FloatVector.fromArray(F, xt, c + 3 * lanes);
                    FloatVector v0 = FloatVector.broadcast(F, g0);
                    FloatVector v1 = FloatVector.broadcast(F, g1);
                    a0 = x0.fma(v0, a0);
                    a1 = x1.fma(v0, a1);
                    a2 = x2.fma(v0, a2);
                    a3 = x3.fma(v0, a3);
                    b0 = x0.fma(v1, b0);
                    b1 = x1.fma(v1, b1);
                    b2 = x2.fma(v1, b2);
                    b3 = x3.fma(v1, b3);
                }
                addInto(dw, r0 * cols + c, a0, a1, a2, a3);
                addInto(dw, r1 * cols + c, b0, b1, b2, b3);
            }
            weightGradientColumns(dw, cols, r0, tiled, full, x, dy, n);
            weightGradientColumns(dw, cols, r1, tiled, full, x, dy, n);
        }
        if (r < to) {
            weightGradientColumns(dw, cols, r, 0, full, x, dy, n);
        }
    }

    /** Row {@code r}'s columns {@code [from, cols)}: a vector at a time up to {@code full}, then one at a time. */
    private static void weightGradientColumns(float[] dw, int cols, int r, int from, int full, float[][] x, float[][] dy, int n) {
        int base = r * cols;
        for (int c = from; c < full; c += F.length()) {
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
                float g = dy[t][r];
                if (g != 0f) {
                    sum = Math.fma(x[t][c], g, sum);
                }
            }
            dw[base + c] += sum;
        }
    }

    static void referenceWeightGradient(float[] dw, int cols, int from, int to, float[][] x, float[][] dy, int n) {
        for (int r = from; r < to; r++) {
            for (int c = 0; c < cols; c++) {
                float sum = 0;
                for (int t = 0; t < n; t++) {
                    if (dy[t][r] != 0f) {
                        sum = Math.fma(x[t][c], dy[t][r], sum);
                    }
                }
                dw[r * cols + c] += sum;
            }
        }
    }

    /**
     * {@code dx[t] += Σ_r dy[t][r] w[r]} for tokens {@code [from, to)}: tiles of two tokens by four vectors of columns,
     * each column summing the rows in order, as {@link #referenceInputGradient} does.
     */
    static void inputGradient(float[] w, int rows, int cols, float[][] dy, float[][] dx, int from, int to) {
        int lanes = F.length();
        int tiled = cols - cols % (4 * lanes);
        int full = cols - cols % lanes;
        int t = from;
        for (; t + 1 < to; t += 2) {
            float[] g0 = dy[t];
            float[] g1 = dy[t + 1];
            for (int c = 0; c < tiled; c += 4 * lanes) {
                FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                for (int r = 0; r < rows; r++) {
                    if (g0[r] == 0f && g1[r] == 0f) {
                        continue;
                    }
                    int at = r * cols + c;
                    FloatVector w0 = FloatVector.fromArray(F, w, at);
                    FloatVector w1 = FloatVector.fromArray(F, w, at + lanes);
                    FloatVector w2 = FloatVector.fromArray(F, w, at + 2 * lanes);
                    FloatVector w3 = FloatVector.fromArray(F, w, at + 3 * lanes);
                    FloatVector v0 = FloatVector.broadcast(F, g0[r]);
                    FloatVector v1 = FloatVector.broadcast(F, g1[r]);
                    a0 = w0.fma(v0, a0);
                    a1 = w1.fma(v0, a1);
                    a2 = w2.fma(v0, a2);
                    a3 = w3.fma(v0, a3);
                    b0 = w0.fma(v1, b0);
                    b1 = w1.fma(v1, b1);
                    b2 = w2.fma(v1, b2);
                    b3 = w3.fma(v1, b3);
                }
                addInto(dx[t], c, a0, a1, a2, a3);
                addInto(dx[t + 1], c, b0, b1, b2, b3);
            }
            inputGradientColumns(w, rows, cols, g0, dx[t], tiled, full);
            inputGradientColumns(w, rows, cols, g1, dx[t + 1], tiled, full);
        }
        if (t < to) {
            inputGradientColumns(w, rows, cols, dy[t], dx[t], 0, full);
        }
    }

    /** One token's columns {@code [from, cols)}: a vector at a time up to {@code full}, then one at a time. */
    private static void inputGradientColumns(float[] w, int rows, int cols, float[] g, float[] out, int from, int full) {
        for (int c = from; c < full; c += F.length()) {
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
                if (g[r] != 0f) {
                    sum = Math.fma(w[r * cols + c], g[r], sum);
                }
            }
            out[c] += sum;
        }
    }

    static void referenceInputGradient(float[] w, int rows, int cols, float[][] dy, float[][] dx, int from, int to) {
        for (int t = from; t < to; t++) {
            for (int c = 0; c < cols; c++) {
                float sum = 0;
                for (int r = 0; r < rows; r++) {
                    if (dy[t][r] != 0f) {
                        sum = Math.fma(w[r * cols + c], dy[t][r], sum);
                    }
                }
                dx[t][c] += sum;
            }
        }
    }

    /** {@code out[at ..] += a0 a1 a2 a3}, four vectors side by side. */
    private static void addInto(float[] out, int at, FloatVector a0, FloatVector a1, FloatVector a2, FloatVector a3) {
        int lanes = F.length();
        a0.add(FloatVector.fromArray(F, out, at)).intoArray(out, at);
        a1.add(FloatVector.fromArray(F, out, at + lanes)).intoArray(out, at + lanes);
        a2.add(FloatVector.fromArray(F, out, at + 2 * lanes)).intoArray(out, at + 2 * lanes);
        a3.add(FloatVector.fromArray(F, out, at + 3 * lanes)).intoArray(out, at + 3 * lanes);
    }
}
