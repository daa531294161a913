package io.moefleet.trainer;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.function.DoubleSupplier;

/**
 * Central finite differences in double precision of a reference function, against an analytic float32 gradient.
 * The error is taken over a whole tensor: {@code ‖analytic − numeric‖ / ‖numeric‖} (single entries near zero would
 * otherwise measure float32 rounding, not the gradient). The step 1e-6 keeps the truncation error near 1e-12 and the
 * cancellation error near 1e-10 for values of order one.
 */
final class GradientCheck {

    static final double STEP = 1e-6;
    static final double LIMIT = 1e-4;

    private GradientCheck() {}

    /** {@code Σ R ∘ y}: a scalar of a piece's output whose gradient at the output is R. */
    static double objective(double[][] y, float[][] r) {
        double sum = 0;
        for (int t = 0; t < y.length; t++) {
            for (int i = 0; i < y[t].length; i++) {
                sum += y[t][i] * r[t][i];
            }
        }
        return sum;
    }

    /** ∂f/∂x_i for every i, x perturbed in place and restored. */
    static double[] numeric(double[] x, DoubleSupplier f) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            double saved = x[i];
            x[i] = saved + STEP;
            double plus = f.getAsDouble();
            x[i] = saved - STEP;
            double minus = f.getAsDouble();
            x[i] = saved;
            g[i] = (plus - minus) / (2 * STEP);
        }
        return g;
    }

    /** The same over rows (inputs), returned flat. */
    static double[] numeric(double[][] rows, DoubleSupplier f) {
        int n = 0;
        for (double[] r : rows) {
            n += r.length;
        }
        double[] g = new double[n];
        int at = 0;
        for (double[] r : rows) {
            double[] part = numeric(r, f);
            System.arraycopy(part, 0, g, at, part.length);
            at += part.length;
        }
        return g;
    }

    static float[] flat(float[][] rows, int n, int width) {
        float[] f = new float[n * width];
        for (int r = 0; r < n; r++) {
            System.arraycopy(rows[r], 0, f, r * width, width);
        }
        return f;
    }

    static double error(float[] analytic, double[] numeric) {
        if (analytic.length != numeric.length) {
            throw new IllegalArgumentException(analytic.length + " analytic values, " + numeric.length + " numeric");
        }
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < numeric.length; i++) {
            diff += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
            norm += numeric[i] * numeric[i];
        }
        return norm == 0 ? Math.sqrt(diff) : Math.sqrt(diff / norm);
    }

    static double norm(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x * x;
        }
        return Math.sqrt(s);
    }

    /** Asserts the relative error below {@link #LIMIT}; returns the numeric gradient's norm (for non-vacuity checks). */
    static double check(String what, float[] analytic, double[] numeric) {
        double error = error(analytic, numeric);
        assertTrue(error < LIMIT, what + ": relative error " + error + " (|numeric| " + norm(numeric) + ")");
        return norm(numeric);
    }
}
