package io.moefleet.model.compute;

import io.moefleet.model.weights.Linear;

/** Products of a weight matrix with a batch of token vectors, rows split over the workers (small products stay on the caller). */
public final class MatMul {

    /** Below this many multiply-adds a hand-off to other threads costs more than it saves. */
    private static final long PARALLEL_THRESHOLD = 1 << 15;

    private final Workers workers;

    public MatMul(Workers workers) {
        this.workers = workers;
    }

    public Workers workers() {
        return workers;
    }

    /** {@code outs[t][0 .. rows) = W · xs[t]} for {@code t < n}. */
    public void multiply(Linear w, float[][] xs, int n, float[][] outs) {
        if (n == 0) {
            return;
        }
        if ((long) w.rows() * w.cols() * n < PARALLEL_THRESHOLD) {
            w.multiply(xs, 0, n, outs, 0, 0, w.rows());
        } else {
            workers.parallelFor(w.rows(), (from, to) -> w.multiply(xs, 0, n, outs, 0, from, to));
        }
    }

    /** Two matrices of the same input width applied to the same tokens in one hand-off (a SwiGLU's gate and up). */
    public void multiplyPair(Linear a, float[][] aOuts, Linear b, float[][] bOuts, float[][] xs, int n) {
        if (n == 0) {
            return;
        }
        int rowsA = a.rows();
        int total = rowsA + b.rows();
        if ((long) total * a.cols() * n < PARALLEL_THRESHOLD) {
            a.multiply(xs, 0, n, aOuts, 0, 0, rowsA);
            b.multiply(xs, 0, n, bOuts, 0, 0, b.rows());
            return;
        }
        workers.parallelFor(total, (from, to) -> {
            if (from < rowsA) {
                a.multiply(xs, 0, n, aOuts, 0, from, Math.min(to, rowsA));
            }
            if (to > rowsA) {
                b.multiply(xs, 0, n, bOuts, 0, Math.max(from, rowsA) - rowsA, to - rowsA);
            }
        });
    }
}
