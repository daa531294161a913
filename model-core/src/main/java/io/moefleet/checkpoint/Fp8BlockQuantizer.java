package io.moefleet.checkpoint;

/**
 * DeepSeek block FP8: a weight {@code [out, in]} is cut into blocks of {@code blockRows x blockCols}
 * (ragged at the edges); each block is stored as E4M3 codes of {@code w / scale} with
 * {@code scale = max|w| / 448} (1 for an all-zero block), and decodes to {@code decode(q) * scale}.
 * The scale is what the checkpoint calls {@code weight_scale_inv}.
 */
final class Fp8BlockQuantizer {
    final int blockRows;
    final int blockCols;

    Fp8BlockQuantizer(int blockRows, int blockCols) {
        if (blockRows <= 0 || blockCols <= 0) {
            throw new IllegalArgumentException("FP8 weight_block_size must be positive, got [" + blockRows + ", " + blockCols + "]");
        }
        this.blockRows = blockRows;
        this.blockCols = blockCols;
    }

    int blockColumns(long cols) {
        return Math.toIntExact(Math.ceilDiv(cols, blockCols));
    }

    /**
     * Quantises one band of at most {@code blockRows} rows (one row of blocks): writes the
     * {@code rows * cols} codes and the band's {@code blockColumns(cols)} scales.
     */
    void quantize(float[] band, int rows, int cols, byte[] codes, float[] scales) {
        if (rows > blockRows) {
            throw new IllegalArgumentException("band of " + rows + " rows exceeds the block height " + blockRows);
        }
        for (int block = 0, c0 = 0; c0 < cols; block++, c0 += blockCols) {
            int c1 = Math.min(cols, c0 + blockCols);
            float max = 0f;
            for (int r = 0; r < rows; r++) {
                for (int c = r * cols + c0, end = r * cols + c1; c < end; c++) {
                    max = Math.max(max, Math.abs(band[c]));
                }
            }
            float scale = max == 0f ? 1f : max / Fp8E4M3.MAX;
            scales[block] = scale;
            for (int r = 0; r < rows; r++) {
                for (int c = r * cols + c0, end = r * cols + c1; c < end; c++) {
                    codes[c] = Fp8E4M3.encode(band[c] / scale);
                }
            }
        }
    }

    static float dequantize(byte code, float scale) {
        return Fp8E4M3.decode(code) * scale;
    }

    /** Replaces a band by the values its quantised form decodes to; bands go one block row at a time. */
    void dequantizeInPlace(float[] band, int rows, int cols) {
        byte[] codes = new byte[rows * cols];
        float[] scales = new float[blockColumns(cols)];
        quantize(band, rows, cols, codes, scales);
        for (int r = 0; r < rows; r++) {
            for (int c = 0; c < cols; c++) {
                band[r * cols + c] = dequantize(codes[r * cols + c], scales[c / blockCols]);
            }
        }
    }
}
