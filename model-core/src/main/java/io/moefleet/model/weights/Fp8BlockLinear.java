package io.moefleet.model.weights;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Block FP8 (DeepSeek-V3 / Kimi K2): E4M3 weights, one F32 {@code weight_scale_inv} per [blockRows x blockCols] block,
 * {@code W[i,j] = q[i,j] * scale[i / blockRows, j / blockCols]}; blocks at ragged edges are partial.
 */
public final class Fp8BlockLinear implements Linear {

    private final MemorySegment weights;
    private final float[] scales;
    private final int rows;
    private final int cols;
    private final int blockRows;
    private final int blockCols;
    private final int scaleCols;

    /** @param scales row-major [ceil(rows / blockRows), ceil(cols / blockCols)] */
    public Fp8BlockLinear(MemorySegment weights, float[] scales, int rows, int cols, int blockRows, int blockCols) {
        this.scaleCols = Math.ceilDiv(cols, blockCols);
        if (weights.byteSize() != (long) rows * cols) {
            throw new IllegalArgumentException("segment of " + weights.byteSize() + " bytes is not F8_E4M3 [" + rows + ", " + cols + "]");
        }
        if (scales.length != Math.ceilDiv(rows, blockRows) * scaleCols) {
            throw new IllegalArgumentException(scales.length + " scales do not cover [" + rows + ", " + cols + "] in blocks of "
                    + blockRows + "x" + blockCols);
        }
        this.weights = weights;
        this.scales = scales;
        this.rows = rows;
        this.cols = cols;
        this.blockRows = blockRows;
        this.blockCols = blockCols;
    }

    @Override
    public int rows() {
        return rows;
    }

    @Override
    public int cols() {
        return cols;
    }

    @Override
    public long storageBytes() {
        return weights.byteSize() + 4L * scales.length;
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long base = (long) row * cols;
        int scaleRow = (row / blockRows) * scaleCols;
        float sum = 0;
        for (int c0 = 0, block = 0; c0 < cols; c0 += blockCols, block++) {
            int end = Math.min(cols, c0 + blockCols);
            float partial = 0;
            for (int c = c0; c < end; c++) {
                partial += Fp8E4M3.toFloat(weights.get(ValueLayout.JAVA_BYTE, base + c)) * x[xOffset + c];
            }
            sum += partial * scales[scaleRow + block];
        }
        return sum;
    }

    @Override
    public void row(int row, float[] dst, int dstOffset) {
        long base = (long) row * cols;
        int scaleRow = (row / blockRows) * scaleCols;
        for (int c = 0; c < cols; c++) {
            dst[dstOffset + c] = Fp8E4M3.toFloat(weights.get(ValueLayout.JAVA_BYTE, base + c)) * scales[scaleRow + c / blockCols];
        }
    }
}
