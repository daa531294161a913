package io.moefleet.trainer;

import java.util.Arrays;

/** Singular values of a small matrix, in double: square roots of the eigenvalues of M Mᵀ (or Mᵀ M) by cyclic Jacobi. */
final class SingularValues {

    private SingularValues() {}

    /** Ascending, min(rows, cols) of them. */
    static double[] of(float[] m, int rows, int cols) {
        int n = Math.min(rows, cols);
        double[][] a = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                if (rows <= cols) {
                    for (int k = 0; k < cols; k++) {
                        s += (double) m[i * cols + k] * m[j * cols + k];
                    }
                } else {
                    for (int k = 0; k < rows; k++) {
                        s += (double) m[k * cols + i] * m[k * cols + j];
                    }
                }
                a[i][j] = s;
            }
        }
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) {
                for (int q = p + 1; q < n; q++) {
                    off += a[p][q] * a[p][q];
                    if (Math.abs(a[p][q]) < 1e-300) {
                        continue;
                    }
                    double theta = (a[q][q] - a[p][p]) / (2 * a[p][q]);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) {
                        t = 1;
                    }
                    double c = 1 / Math.sqrt(t * t + 1);
                    double s = t * c;
                    for (int k = 0; k < n; k++) {
                        double akp = a[k][p];
                        double akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) {
                        double apk = a[p][k];
                        double aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                }
            }
            if (off < 1e-28) {
                break;
            }
        }
        double[] values = new double[n];
        for (int i = 0; i < n; i++) {
            values[i] = Math.sqrt(Math.max(0, a[i][i]));
        }
        Arrays.sort(values);
        return values;
    }
}
