package io.moefleet.model.weights;

import io.moefleet.model.compute.Lanes;

import static io.moefleet.model.weights.FloatCodec.INT_LE;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * compressed-tensors {@code pack-quantized} (Kimi K2-Thinking's routed experts): symmetric signed integers of
 * {@code bits} bits stored with offset 2^(bits-1), packed least-significant first into little-endian int32 words
 * along the input dimension; {@code W[i,j] = q[i,j] * scale[i, j / groupSize]}.
 *
 * <p>The 4-bit kernel reads 2L columns as L bytes: low nibbles are the even columns, high nibbles the odd ones, so it
 * dots them with x split once into its even and odd elements; each group's partial sum is scaled once. Other widths
 * and group sizes that are not a multiple of 2L go through the scalar reference.
 */
public final class PackedIntLinear implements Linear {

    private static final VectorSpecies<Float> F = DenseLinear.F;
    private static final VectorSpecies<Integer> I = DenseLinear.I;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
    private static final int L = F.length();
    private static final ThreadLocal<float[][]> SPLIT = ThreadLocal.withInitial(() -> new float[0][]);

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
    public float referenceDot(int row, float[] x, int xOffset) {
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
    public void multiply(float[][] xs, int xOffset, int n, float[][] outs, int outOffset, int rowFrom, int rowTo) {
        if (bits != 4 || groupSize % (2 * L) != 0) {
            for (int r = rowFrom; r < rowTo; r++) {
                for (int t = 0; t < n; t++) {
                    outs[t][outOffset + r] = referenceDot(r, xs[t], xOffset);
                }
            }
            return;
        }
        float[][] split = evenOddSplit(xs, xOffset, n);
        int half = (cols + 1) / 2;
        if (n < 4) {
            RowPairs.run(rowFrom, rowTo, n, (r0, r1, t) -> twoRows(r0, r1, split[t], half, xs[t], xOffset, outs[t], outOffset),
                    (r, t) -> outs[t][outOffset + r] = oneToken(r, split[t], half, xs[t], xOffset));
            return;
        }
        for (int r = rowFrom; r < rowTo; r++) {
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                fourTokens(r, split, t, half, xs, xOffset, outs, outOffset + r);
            }
            for (; t < n; t++) {
                outs[t][outOffset + r] = oneToken(r, split[t], half, xs[t], xOffset);
            }
        }
    }

    /** Per token, x's even elements followed by its odd ones, in a buffer reused by this thread. */
    private float[][] evenOddSplit(float[][] xs, int xOffset, int n) {
        int half = (cols + 1) / 2;
        float[][] split = SPLIT.get();
        if (split.length < n || split[0].length < 2 * half) {
            split = new float[Math.max(n, split.length)][Math.max(2 * half, split.length == 0 ? 0 : split[0].length)];
            SPLIT.set(split);
        }
        for (int t = 0; t < n; t++) {
            float[] x = xs[t];
            float[] s = split[t];
            for (int c = 0; c < cols; c++) {
                s[(c & 1) * half + (c >> 1)] = x[xOffset + c];
            }
        }
        return split;
    }

    private float oneToken(int row, float[] split, int half, float[] x, int xOffset) {
        long byteBase = (long) row * wordsPerRow * 4;
        long wordBase = (long) row * wordsPerRow;
        int scaleBase = row * groupsPerRow;
        FloatVector total = FloatVector.zero(F);
        float scalarTotal = 0;
        for (int c0 = 0, g = 0; c0 < cols; c0 += groupSize, g++) {
            int end = Math.min(cols, c0 + groupSize);
            int vectorEnd = c0 + (end - c0) / (2 * L) * (2 * L);
            FloatVector a = FloatVector.zero(F);
            for (int c = c0; c < vectorEnd; c += 2 * L) {
                IntVector bytes = (IntVector) ByteVector.fromMemorySegment(B, packed, byteBase + c / 2, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0);
                FloatVector low = (FloatVector) bytes.and(0xF).sub(offset).convertShape(VectorOperators.I2F, F, 0);
                FloatVector high = (FloatVector) bytes.lanewise(VectorOperators.LSHR, 4).and(0xF).sub(offset)
                        .convertShape(VectorOperators.I2F, F, 0);
                a = low.fma(FloatVector.fromArray(F, split, c / 2), a);
                a = high.fma(FloatVector.fromArray(F, split, half + c / 2), a);
            }
            float scale = scales[scaleBase + g];
            total = a.fma(FloatVector.broadcast(F, scale), total);
            float partial = 0;
            for (int c = vectorEnd; c < end; c++) {
                partial += value(wordBase, c) * x[xOffset + c];
            }
            scalarTotal += partial * scale;
        }
        return Lanes.sum(total) + scalarTotal;
    }

    /**
     * One token against rows {@code r0} and {@code r1} ({@link RowPairs}), each sum exactly {@link #oneToken}'s: each
     * input vector loaded once for both, two chains where {@link #oneToken} has one, whose every FMA waits on the last.
     */
    private void twoRows(int r0, int r1, float[] split, int half, float[] x, int xOffset, float[] out, int outOffset) {
        long byteBase0 = (long) r0 * wordsPerRow * 4;
        long byteBase1 = (long) r1 * wordsPerRow * 4;
        FloatVector total0 = FloatVector.zero(F), total1 = total0;
        float scalarTotal0 = 0, scalarTotal1 = 0;
        for (int c0 = 0, g = 0; c0 < cols; c0 += groupSize, g++) {
            int end = Math.min(cols, c0 + groupSize);
            int vectorEnd = c0 + (end - c0) / (2 * L) * (2 * L);
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            for (int c = c0; c < vectorEnd; c += 2 * L) {
                FloatVector evens = FloatVector.fromArray(F, split, c / 2);
                FloatVector odds = FloatVector.fromArray(F, split, half + c / 2);
                IntVector bytes0 = (IntVector) ByteVector.fromMemorySegment(B, packed, byteBase0 + c / 2, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0);
                IntVector bytes1 = (IntVector) ByteVector.fromMemorySegment(B, packed, byteBase1 + c / 2, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0);
                FloatVector low0 = (FloatVector) bytes0.and(0xF).sub(offset).convertShape(VectorOperators.I2F, F, 0);
                FloatVector high0 = (FloatVector) bytes0.lanewise(VectorOperators.LSHR, 4).and(0xF).sub(offset)
                        .convertShape(VectorOperators.I2F, F, 0);
                FloatVector low1 = (FloatVector) bytes1.and(0xF).sub(offset).convertShape(VectorOperators.I2F, F, 0);
                FloatVector high1 = (FloatVector) bytes1.lanewise(VectorOperators.LSHR, 4).and(0xF).sub(offset)
                        .convertShape(VectorOperators.I2F, F, 0);
                a0 = low0.fma(evens, a0);
                a1 = low1.fma(evens, a1);
                a0 = high0.fma(odds, a0);
                a1 = high1.fma(odds, a1);
            }
            float scale0 = scales[r0 * groupsPerRow + g];
            float scale1 = scales[r1 * groupsPerRow + g];
            total0 = a0.fma(FloatVector.broadcast(F, scale0), total0);
            total1 = a1.fma(FloatVector.broadcast(F, scale1), total1);
            float partial0 = 0, partial1 = 0;
            for (int c = vectorEnd; c < end; c++) {
                partial0 += value((long) r0 * wordsPerRow, c) * x[xOffset + c];
                partial1 += value((long) r1 * wordsPerRow, c) * x[xOffset + c];
            }
            scalarTotal0 += partial0 * scale0;
            scalarTotal1 += partial1 * scale1;
        }
        out[outOffset + r0] = Lanes.sum(total0) + scalarTotal0;
        out[outOffset + r1] = Lanes.sum(total1) + scalarTotal1;
    }

    /**
     * Tokens {@code t .. t + 3} against one row, each group of nibbles unpacked once for the four; each token's sum is
     * exactly {@link #oneToken}'s.
     */
    private void fourTokens(int row, float[][] split, int t, int half, float[][] xs, int xOffset, float[][] outs, int oi) {
        float[] s0 = split[t], s1 = split[t + 1], s2 = split[t + 2], s3 = split[t + 3];
        long byteBase = (long) row * wordsPerRow * 4;
        long wordBase = (long) row * wordsPerRow;
        int scaleBase = row * groupsPerRow;
        FloatVector z = FloatVector.zero(F);
        FloatVector total0 = z, total1 = z, total2 = z, total3 = z;
        float scalar0 = 0, scalar1 = 0, scalar2 = 0, scalar3 = 0;
        for (int c0 = 0, g = 0; c0 < cols; c0 += groupSize, g++) {
            int end = Math.min(cols, c0 + groupSize);
            int vectorEnd = c0 + (end - c0) / (2 * L) * (2 * L);
            FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
            for (int c = c0; c < vectorEnd; c += 2 * L) {
                IntVector bytes = (IntVector) ByteVector.fromMemorySegment(B, packed, byteBase + c / 2, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0);
                FloatVector low = (FloatVector) bytes.and(0xF).sub(offset).convertShape(VectorOperators.I2F, F, 0);
                FloatVector high = (FloatVector) bytes.lanewise(VectorOperators.LSHR, 4).and(0xF).sub(offset)
                        .convertShape(VectorOperators.I2F, F, 0);
                a0 = low.fma(FloatVector.fromArray(F, s0, c / 2), a0);
                a0 = high.fma(FloatVector.fromArray(F, s0, half + c / 2), a0);
                a1 = low.fma(FloatVector.fromArray(F, s1, c / 2), a1);
                a1 = high.fma(FloatVector.fromArray(F, s1, half + c / 2), a1);
                a2 = low.fma(FloatVector.fromArray(F, s2, c / 2), a2);
                a2 = high.fma(FloatVector.fromArray(F, s2, half + c / 2), a2);
                a3 = low.fma(FloatVector.fromArray(F, s3, c / 2), a3);
                a3 = high.fma(FloatVector.fromArray(F, s3, half + c / 2), a3);
            }
            float scale = scales[scaleBase + g];
            FloatVector s = FloatVector.broadcast(F, scale);
            total0 = a0.fma(s, total0);
            total1 = a1.fma(s, total1);
            total2 = a2.fma(s, total2);
            total3 = a3.fma(s, total3);
            float p0 = 0, p1 = 0, p2 = 0, p3 = 0;
            for (int c = vectorEnd; c < end; c++) {
                int v = value(wordBase, c);
                p0 += v * xs[t][xOffset + c];
                p1 += v * xs[t + 1][xOffset + c];
                p2 += v * xs[t + 2][xOffset + c];
                p3 += v * xs[t + 3][xOffset + c];
            }
            scalar0 += p0 * scale;
            scalar1 += p1 * scale;
            scalar2 += p2 * scale;
            scalar3 += p3 * scale;
        }
        outs[t][oi] = Lanes.sum(total0) + scalar0;
        outs[t + 1][oi] = Lanes.sum(total1) + scalar1;
        outs[t + 2][oi] = Lanes.sum(total2) + scalar2;
        outs[t + 3][oi] = Lanes.sum(total3) + scalar3;
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
