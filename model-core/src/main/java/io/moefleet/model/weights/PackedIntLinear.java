package io.moefleet.model.weights;

import static io.moefleet.model.weights.FloatCodec.INT_LE;

import java.lang.foreign.MemorySegment;

/**
 * compressed-tensors {@code pack-quantized} (Kimi K2-Thinking's routed experts): symmetric signed integers of
 * {@code bits} bits stored with offset 2^(bits-1), packed least-significant first into little-endian int32 words
 * along the input dimension; {@code W[i,j] = q[i,j] * scale[i, j / groupSize]}.
 */
public final class PackedIntLinear implements Linear {

    private final MemorySegment packed;
    private final float[] scales;
    private final int rows;
    private final int cols;
    private final int bits;
    private final int groupSize;
    private final int valuesPerWord;
    private final int wordsPerRow;
    private final int groupsPerRow;
    private final int mask;
    private final int offset;
    private final int scaleBytes;

    /**
     * @param scales row-major [rows, ceil(cols / groupSize)]
     * @param scaleBytes bytes per scale as the checkpoint stores it (2 for BF16), for {@link #storageBytes()}
     */
    public PackedIntLinear(MemorySegment packed, float[] scales, int scaleBytes, int rows, int cols, int bits, int groupSize) {
        if (bits != 4 && bits != 8) {
            throw new IllegalArgumentException("packed integers of " + bits + " bits are not supported");
        }
        this.valuesPerWord = 32 / bits;
        this.wordsPerRow = Math.ceilDiv(cols, valuesPerWord);
        this.groupsPerRow = Math.ceilDiv(cols, groupSize);
        if (packed.byteSize() != 4L * rows * wordsPerRow) {
            throw new IllegalArgumentException("packed segment of " + packed.byteSize() + " bytes is not I32 [" + rows + ", " + wordsPerRow + "]");
        }
        if (scales.length != rows * groupsPerRow) {
            throw new IllegalArgumentException(scales.length + " scales are not [" + rows + ", " + groupsPerRow + "]");
        }
        this.packed = packed;
        this.scales = scales;
        this.rows = rows;
        this.cols = cols;
        this.bits = bits;
        this.groupSize = groupSize;
        this.mask = (1 << bits) - 1;
        this.offset = 1 << (bits - 1);
        this.scaleBytes = scaleBytes;
    }

    public static int wordsPerRow(int cols, int bits) {
        return Math.ceilDiv(cols, 32 / bits);
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
        return packed.byteSize() + (long) scaleBytes * scales.length;
    }

    private int value(long rowWordBase, int c) {
        int word = packed.get(INT_LE, (rowWordBase + c / valuesPerWord) * 4);
        return ((word >>> (bits * (c % valuesPerWord))) & mask) - offset;
    }

    @Override
    public float dot(int row, float[] x, int xOffset) {
        long wordBase = (long) row * wordsPerRow;
        int scaleBase = row * groupsPerRow;
        float sum = 0;
        for (int c0 = 0, g = 0; c0 < cols; c0 += groupSize, g++) {
            int end = Math.min(cols, c0 + groupSize);
            float partial = 0;
            for (int c = c0; c < end; c++) {
                partial += value(wordBase, c) * x[xOffset + c];
            }
            sum += partial * scales[scaleBase + g];
        }
        return sum;
    }

    @Override
    public void row(int row, float[] dst, int dstOffset) {
        long wordBase = (long) row * wordsPerRow;
        int scaleBase = row * groupsPerRow;
        for (int c = 0; c < cols; c++) {
            dst[dstOffset + c] = value(wordBase, c) * scales[scaleBase + c / groupSize];
        }
    }
}
