package io.moefleet.model.weights;

/**
 * A linear layer's weight matrix W [rows = out features, cols = in features], read in whatever format the checkpoint
 * stores it. Each format keeps its scalar reference ({@link #row}) beside its product ({@link #dot}).
 */
public interface Linear {

    int rows();

    int cols();

    /** Σ_c W[row, c] · x[xOffset + c]. */
    float dot(int row, float[] x, int xOffset);

    /** W[row, :] as float32, written to {@code dst[dstOffset ..]}: the dequantised reference every product is checked against. */
    void row(int row, float[] dst, int dstOffset);

    /** Bytes of storage one full pass over the matrix reads (weights and scales). */
    long storageBytes();

    /** out[r] = W[r, :] · x for every row. */
    default void matvec(float[] x, float[] out) {
        matvec(x, 0, out, 0);
    }

    default void matvec(float[] x, int xOffset, float[] out, int outOffset) {
        int n = rows();
        for (int r = 0; r < n; r++) {
            out[outOffset + r] = dot(r, x, xOffset);
        }
    }
}
