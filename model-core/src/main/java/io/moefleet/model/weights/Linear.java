package io.moefleet.model.weights;

/**
 * A linear layer's weight matrix W [rows = out features, cols = in features], read in whatever format the checkpoint
 * stores it, dequantised inside the products (never a dequantised copy in memory). Each format keeps its scalar
 * reference ({@link #row}, {@link #referenceDot}) beside its vector kernel ({@link #multiply}); tests hold them together.
 */
public interface Linear {

    int rows();

    int cols();

    /** Bytes of storage one full pass over the matrix reads (weights and scales). */
    long storageBytes();

    /** W[row, :] as float32, written to {@code dst[dstOffset ..]}: the dequantised reference. */
    void row(int row, float[] dst, int dstOffset);

    /** Σ_c W[row, c] · x[xOffset + c], by plain scalar arithmetic: the reference the kernel is tested against. */
    float referenceDot(int row, float[] x, int xOffset);

    /**
     * The kernel: {@code outs[t][outOffset + r] = W[r, :] · xs[t][xOffset ..]} for rows {@code [rowFrom, rowTo)} and
     * tokens {@code t < n}. Every (row, token) sum runs the same operations whatever {@code n} and the row range, so a
     * token's result never depends on its batch-mates or on how rows are split over threads.
     */
    void multiply(float[][] xs, int xOffset, int n, float[][] outs, int outOffset, int rowFrom, int rowTo);

    /** {@code out[c] += Σ_i coefficients[coefficientOffset + i] · W[rowFrom + i, c]}: a product with W's transpose over some rows. */
    default void accumulateRows(int rowFrom, int rowTo, float[] coefficients, int coefficientOffset, float[] out) {
        float[] row = new float[cols()];
        for (int r = rowFrom; r < rowTo; r++) {
            row(r, row, 0);
            float k = coefficients[coefficientOffset + r - rowFrom];
            for (int c = 0; c < row.length; c++) {
                out[c] += k * row[c];
            }
        }
    }
}
