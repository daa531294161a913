package io.moefleet.trainer;

import io.moefleet.model.compute.VectorMath;
import io.moefleet.model.compute.Workers;

/**
 * Muon's orthogonalisation: the quintic Newton–Schulz iteration {@code X ← aX + (bA + cA²)X}, {@code A = XXᵀ}, with
 * Kimi K2's / Moonlight's coefficients (3.4445, −4.7750, 2.0315), five steps, from {@code G / (‖G‖_F + 1e-7)},
 * on the wide orientation (a tall matrix is transposed first and back after). Each singular value σ of the normalised
 * matrix goes to {@code p⁵(σ)}, {@code p(x) = ax + bx³ + cx⁵}: roughly into [0.7, 1.2], not exactly 1 — fast, and
 * as good for the update. Float32 here (Moonlight runs it in bf16).
 */
public final class NewtonSchulz {

    public static final double A = 3.4445;
    public static final double B = -4.7750;
    public static final double C = 2.0315;
    public static final int STEPS = 5;

    private NewtonSchulz() {}

    /** The orthogonalised {@code g} ([rows][cols] row-major), a new array of the same layout. */
    public static float[] orthogonalise(float[] g, int rows, int cols, Workers workers) {
        boolean tall = rows > cols;
        int m = Math.min(rows, cols);
        int k = Math.max(rows, cols);
        double squares = 0;
        for (float v : g) {
            squares += (double) v * v;
        }
        float inverse = (float) (1 / (Math.sqrt(squares) + 1e-7));
        float[][] x = new float[m][k];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                float v = g[r * cols + c] * inverse;
                if (tall) {
                    x[c][r] = v;
                } else {
                    x[r][c] = v;
                }
            }
        }
        float[][] a = new float[m][m];
        float[][] b = new float[m][m];
        float[][] next = new float[m][k];
        for (int step = 0; step < STEPS; step++) {
            float[][] xs = x;
            Split.range(workers, m, (long) m * m * k, (from, to) -> {
                for (int i = from; i < to; i++) {
                    for (int j = 0; j < m; j++) {
                        a[i][j] = VectorMath.dot(xs[i], 0, xs[j], 0, k);
                    }
                }
            });
            Split.range(workers, m, (long) m * m * k, (from, to) -> {
                for (int i = from; i < to; i++) {
                    for (int j = 0; j < m; j++) {
                        b[i][j] = (float) (B * a[i][j] + C * VectorMath.dot(a[i], 0, a[j], 0, m));   // A symmetric: (A²)ij = Ai·Aj
                    }
                }
            });
            float[][] out = next;
            Split.range(workers, m, (long) m * m * k, (from, to) -> {
                for (int i = from; i < to; i++) {
                    float[] row = out[i];
                    for (int c = 0; c < k; c++) {
                        row[c] = (float) (A * xs[i][c]);
                    }
                    for (int j = 0; j < m; j++) {
                        VectorMath.axpy(b[i][j], xs[j], 0, row, 0, k);
                    }
                }
            });
            next = x;
            x = out;
        }
        float[] result = new float[g.length];
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                result[r * cols + c] = tall ? x[c][r] : x[r][c];
            }
        }
        return result;
    }
}
