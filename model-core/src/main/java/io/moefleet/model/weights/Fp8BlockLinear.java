package io.moefleet.model.weights;

import io.moefleet.model.compute.Lanes;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Block FP8 (DeepSeek-V3 / Kimi K2): E4M3 weights, one F32 {@code weight_scale_inv} per [blockRows x blockCols] block,
 * {@code W[i,j] = q[i,j] * scale[i / blockRows, j / blockCols]}; blocks at ragged edges are partial.
 *
 * <p>The kernel widens E4M3 to float32 by placing its bits: {@code (b & 0x7F) << 20} read as a float is the value
 * times 2^-120 for normal and subnormal codes alike (the 4-bit exponent lands in the low bits of float's 8-bit one),
 * so the sign bit and one exact multiply by 2^120 finish it (before any product, so nothing sinks into denormals);
 * each block's partial sum is then scaled once. Loads are written out in the loops (see {@link DenseLinear} for why).
 */
public final class Fp8BlockLinear implements Linear {

    private static final VectorSpecies<Float> F = DenseLinear.F;
    private static final VectorSpecies<Integer> I = DenseLinear.I;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
    private static final int L = F.length();
    private static final float TWO_POW_120 = 0x1p120f;
    private static final int SIGN_EXPONENT_MANTISSA = 0x87F00000;

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

    private float code(long index) {
        return Fp8E4M3.toFloat(weights.get(ValueLayout.JAVA_BYTE, index));
    }

    @Override
    public void row(int row, float[] dst, int dstOffset) {
        long base = (long) row * cols;
        int scaleRow = (row / blockRows) * scaleCols;
        for (int c = 0; c < cols; c++) {
            dst[dstOffset + c] = code(base + c) * scales[scaleRow + c / blockCols];
        }
    }

    @Override
    public float referenceDot(int row, float[] x, int xOffset) {
        long base = (long) row * cols;
        int scaleRow = (row / blockRows) * scaleCols;
        float sum = 0;
        for (int c0 = 0, block = 0; c0 < cols; c0 += blockCols, block++) {
            int end = Math.min(cols, c0 + blockCols);
            float partial = 0;
            for (int c = c0; c < end; c++) {
                partial += code(base + c) * x[xOffset + c];
            }
            sum += partial * scales[scaleRow + block];
        }
        return sum;
    }

    /** The absorbed attention's product with W's transpose: per row, each column block's coefficient scaled once. */
    @Override
    public void accumulateRows(int rowFrom, int rowTo, float[] coefficients, int coefficientOffset, float[] out) {
        for (int r = rowFrom; r < rowTo; r++) {
            long base = (long) r * cols;
            int scaleRow = (r / blockRows) * scaleCols;
            for (int c0 = 0, block = 0; c0 < cols; c0 += blockCols, block++) {
                int end = Math.min(cols, c0 + blockCols);
                int vectorEnd = c0 + (end - c0) / L * L;
                float k = coefficients[coefficientOffset + r - rowFrom] * scales[scaleRow + block];
                FloatVector kv = FloatVector.broadcast(F, k);
                for (int c = c0; c < vectorEnd; c += L) {
                    FloatVector w = ((IntVector) ByteVector.fromMemorySegment(B, weights, base + c, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.B2I, I, 0))
                            .lanewise(VectorOperators.LSHL, 20).and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_120);
                    w.fma(kv, FloatVector.fromArray(F, out, c)).intoArray(out, c);
                }
                for (int c = vectorEnd; c < end; c++) {
                    out[c] += k * code(base + c);
                }
            }
        }
    }

    @Override
    public void multiply(float[][] xs, int xOffset, int n, float[][] outs, int outOffset, int rowFrom, int rowTo) {
        if (n < 4) {
            RowPairs.run(rowFrom, rowTo, n, (r0, r1, t) -> twoRows(r0, r1, xs[t], xOffset, outs[t], outOffset),
                    (r, t) -> outs[t][outOffset + r] = oneToken((long) r * cols, (r / blockRows) * scaleCols, xs[t], xOffset));
            return;
        }
        for (int r = rowFrom; r < rowTo; r++) {
            long base = (long) r * cols;
            int scaleRow = (r / blockRows) * scaleCols;
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                fourTokens(base, scaleRow, xs[t], xs[t + 1], xs[t + 2], xs[t + 3], xOffset,
                        outs[t], outs[t + 1], outs[t + 2], outs[t + 3], outOffset + r);
            }
            for (; t < n; t++) {
                outs[t][outOffset + r] = oneToken(base, scaleRow, xs[t], xOffset);
            }
        }
    }

    /*
     * The code sign-extended to 32 bits and shifted left by 20 holds the sign in bit 31 (the extension) and exponent and
     * mantissa in bits 26..20; the mask drops the rest of the extension. Written out in each loop (see DenseLinear).
     */

    private float oneToken(long base, int scaleRow, float[] x, int xo) {
        FloatVector total = FloatVector.zero(F);
        float scalarTotal = 0;
        for (int c0 = 0, block = 0; c0 < cols; c0 += blockCols, block++) {
            int end = Math.min(cols, c0 + blockCols);
            int vectorEnd = c0 + (end - c0) / L * L;
            float scale = scales[scaleRow + block];
            FloatVector a = FloatVector.zero(F);
            for (int c = c0; c < vectorEnd; c += L) {
                FloatVector w = ((IntVector) ByteVector.fromMemorySegment(B, weights, base + c, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 20).and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_120);
                a = w.fma(FloatVector.fromArray(F, x, xo + c), a);
            }
            total = a.fma(FloatVector.broadcast(F, scale), total);
            float partial = 0;
            for (int c = vectorEnd; c < end; c++) {
                partial += code(base + c) * x[xo + c];
            }
            scalarTotal += partial * scale;
        }
        return Lanes.sum(total) + scalarTotal;
    }

    /**
     * One token against rows {@code r0} and {@code r1} ({@link RowPairs}), each sum exactly {@link #oneToken}'s: each
     * input vector loaded once for both, two chains where {@link #oneToken} has one, whose every FMA waits on the last.
     */
    private void twoRows(int r0, int r1, float[] x, int xo, float[] out, int outOffset) {
        long base0 = (long) r0 * cols;
        long base1 = (long) r1 * cols;
        int scaleRow0 = (r0 / blockRows) * scaleCols;
        int scaleRow1 = (r1 / blockRows) * scaleCols;
        FloatVector total0 = FloatVector.zero(F), total1 = total0;
        float scalarTotal0 = 0, scalarTotal1 = 0;
        for (int c0 = 0, block = 0; c0 < cols; c0 += blockCols, block++) {
            int end = Math.min(cols, c0 + blockCols);
            int vectorEnd = c0 + (end - c0) / L * L;
            float scale0 = scales[scaleRow0 + block];
            float scale1 = scales[scaleRow1 + block];
            FloatVector a0 = FloatVector.zero(F), a1 = a0;
            for (int c = c0; c < vectorEnd; c += L) {
                FloatVector xv = FloatVector.fromArray(F, x, xo + c);
                FloatVector w0 = ((IntVector) ByteVector.fromMemorySegment(B, weights, base0 + c, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 20).and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_120);
                FloatVector w1 = ((IntVector) ByteVector.fromMemorySegment(B, weights, base1 + c, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 20).and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_120);
                a0 = w0.fma(xv, a0);
                a1 = w1.fma(xv, a1);
            }
            total0 = a0.fma(FloatVector.broadcast(F, scale0), total0);
            total1 = a1.fma(FloatVector.broadcast(F, scale1), total1);
            float partial0 = 0, partial1 = 0;
            for (int c = vectorEnd; c < end; c++) {
                partial0 += code(base0 + c) * x[xo + c];
                partial1 += code(base1 + c) * x[xo + c];
            }
            scalarTotal0 += partial0 * scale0;
            scalarTotal1 += partial1 * scale1;
        }
        out[outOffset + r0] = Lanes.sum(total0) + scalarTotal0;
        out[outOffset + r1] = Lanes.sum(total1) + scalarTotal1;
    }

    /** Four tokens against one row, each code decoded once; each token's sum is exactly {@link #oneToken}'s. */
    private void fourTokens(long base, int scaleRow, float[] x0, float[] x1, float[] x2, float[] x3, int xo,
            float[] o0, float[] o1, float[] o2, float[] o3, int oi) {
        FloatVector z = FloatVector.zero(F);
        FloatVector total0 = z, total1 = z, total2 = z, total3 = z;
        float scalar0 = 0, scalar1 = 0, scalar2 = 0, scalar3 = 0;
        for (int c0 = 0, block = 0; c0 < cols; c0 += blockCols, block++) {
            int end = Math.min(cols, c0 + blockCols);
            int vectorEnd = c0 + (end - c0) / L * L;
            float scale = scales[scaleRow + block];
            FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
            for (int c = c0; c < vectorEnd; c += L) {
                FloatVector w = ((IntVector) ByteVector.fromMemorySegment(B, weights, base + c, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0))
                        .lanewise(VectorOperators.LSHL, 20).and(SIGN_EXPONENT_MANTISSA).reinterpretAsFloats().mul(TWO_POW_120);
                a0 = w.fma(FloatVector.fromArray(F, x0, xo + c), a0);
                a1 = w.fma(FloatVector.fromArray(F, x1, xo + c), a1);
                a2 = w.fma(FloatVector.fromArray(F, x2, xo + c), a2);
                a3 = w.fma(FloatVector.fromArray(F, x3, xo + c), a3);
            }
            FloatVector s = FloatVector.broadcast(F, scale);
            total0 = a0.fma(s, total0);
            total1 = a1.fma(s, total1);
            total2 = a2.fma(s, total2);
            total3 = a3.fma(s, total3);
            float p0 = 0, p1 = 0, p2 = 0, p3 = 0;
            for (int c = vectorEnd; c < end; c++) {
                float w = code(base + c);
                p0 += w * x0[xo + c];
                p1 += w * x1[xo + c];
                p2 += w * x2[xo + c];
                p3 += w * x3[xo + c];
            }
            scalar0 += p0 * scale;
            scalar1 += p1 * scale;
            scalar2 += p2 * scale;
            scalar3 += p3 * scale;
        }
        o0[oi] = Lanes.sum(total0) + scalar0;
        o1[oi] = Lanes.sum(total1) + scalar1;
        o2[oi] = Lanes.sum(total2) + scalar2;
        o3[oi] = Lanes.sum(total3) + scalar3;
    }
}
