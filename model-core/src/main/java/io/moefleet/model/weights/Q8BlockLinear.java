package io.moefleet.model.weights;

import io.moefleet.model.compute.Lanes;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Load-time 8-bit block quantization ({@code --quantize q8}), for users who trade a little exactness for speed:
 * each row in blocks of {@value #BLOCK} columns, {@code q = round(w / s)} with {@code s = max|w| / 127} per block, stored
 * off-heap as int8 plus one F32 scale per block (1.125 bytes per weight instead of BF16's 2). Decode reads that many
 * fewer bytes; activations stay float32.
 */
public final class Q8BlockLinear implements Linear {

    public static final int BLOCK = 32;

    private static final VectorSpecies<Float> F = DenseLinear.F;
    private static final VectorSpecies<Integer> I = DenseLinear.I;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(F.vectorBitSize() / 4));
    private static final int L = F.length();
    /** A constant trip count, which C2 unrolls: a block's inner loop would otherwise cost as much as its arithmetic. */
    private static final int VECTORS_PER_BLOCK = BLOCK / L;

    private final MemorySegment values;
    private final float[] scales;
    private final int rows;
    private final int cols;
    private final int blocksPerRow;

    private Q8BlockLinear(MemorySegment values, float[] scales, int rows, int cols) {
        this.values = values;
        this.scales = scales;
        this.rows = rows;
        this.cols = cols;
        this.blocksPerRow = Math.ceilDiv(cols, BLOCK);
    }

    /** Quantizes {@code source} row by row from its dequantised reference; the int8 values live in {@code memory}'s. */
    public static Q8BlockLinear quantize(Linear source, SegmentAllocator memory) {
        int rows = source.rows();
        int cols = source.cols();
        int blocks = Math.ceilDiv(cols, BLOCK);
        MemorySegment values = memory.allocate((long) rows * cols, 64);
        float[] scales = new float[rows * blocks];
        float[] row = new float[cols];
        for (int r = 0; r < rows; r++) {
            source.row(r, row, 0);
            for (int b = 0; b < blocks; b++) {
                int from = b * BLOCK;
                int to = Math.min(cols, from + BLOCK);
                float max = 0;
                for (int c = from; c < to; c++) {
                    max = Math.max(max, Math.abs(row[c]));
                }
                float scale = max == 0 ? 1f : max / 127f;
                scales[r * blocks + b] = scale;
                for (int c = from; c < to; c++) {
                    values.set(ValueLayout.JAVA_BYTE, (long) r * cols + c, (byte) Math.round(row[c] / scale));
                }
            }
        }
        return new Q8BlockLinear(values, scales, rows, cols);
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
        return values.byteSize() + 4L * scales.length;
    }

    @Override
    public void row(int row, float[] dst, int dstOffset) {
        long base = (long) row * cols;
        for (int c = 0; c < cols; c++) {
            dst[dstOffset + c] = values.get(ValueLayout.JAVA_BYTE, base + c) * scales[row * blocksPerRow + c / BLOCK];
        }
    }

    @Override
    public float referenceDot(int row, float[] x, int xOffset) {
        long base = (long) row * cols;
        float sum = 0;
        for (int b = 0; b < blocksPerRow; b++) {
            int from = b * BLOCK;
            int to = Math.min(cols, from + BLOCK);
            float partial = 0;
            for (int c = from; c < to; c++) {
                partial += values.get(ValueLayout.JAVA_BYTE, base + c) * x[xOffset + c];
            }
            sum += partial * scales[row * blocksPerRow + b];
        }
        return sum;
    }

    /** The absorbed attention's product with W's transpose: per row, each block's coefficient scaled once. */
    @Override
    public void accumulateRows(int rowFrom, int rowTo, float[] coefficients, int coefficientOffset, float[] out) {
        int vectorBlocks = BLOCK % L == 0 ? cols / BLOCK : 0;
        for (int r = rowFrom; r < rowTo; r++) {
            long base = (long) r * cols;
            int scaleBase = r * blocksPerRow;
            float coefficient = coefficients[coefficientOffset + r - rowFrom];
            for (int block = 0; block < blocksPerRow; block++) {
                float k = coefficient * scales[scaleBase + block];
                int from = block * BLOCK;
                int to = Math.min(cols, from + BLOCK);
                if (block < vectorBlocks) {
                    FloatVector kv = FloatVector.broadcast(F, k);
                    for (int c = from; c < to; c += L) {
                        FloatVector w = (FloatVector) ((IntVector) ByteVector.fromMemorySegment(B, values, base + c, ByteOrder.LITTLE_ENDIAN)
                                .convertShape(VectorOperators.B2I, I, 0)).convertShape(VectorOperators.I2F, F, 0);
                        w.fma(kv, FloatVector.fromArray(F, out, c)).intoArray(out, c);
                    }
                } else {
                    for (int c = from; c < to; c++) {
                        out[c] += k * values.get(ValueLayout.JAVA_BYTE, base + c);
                    }
                }
            }
        }
    }

    /**
     * Per (row, token): whole blocks by vectors, each block's sum scaled once into one of four running totals (block b
     * into total b % 4, the totals rotating after each block, so that blocks do not wait on each other); a ragged last
     * block in scalar code. Tokens go four at a time against a row (each int8 vector widened once for the four), the
     * rest one at a time; fewer than four tokens go one at a time against two rows ({@link #twoRows}). Every kernel
     * performs the same operations for a token, whatever its batch or the rows beside it.
     */
    @Override
    public void multiply(float[][] xs, int xOffset, int n, float[][] outs, int outOffset, int rowFrom, int rowTo) {
        if (n < 4) {
            RowPairs.run(rowFrom, rowTo, n, (r0, r1, t) -> twoRows(r0, r1, xs[t], xOffset, outs[t], outOffset),
                    (r, t) -> outs[t][outOffset + r] = oneToken(r, xs[t], xOffset));
            return;
        }
        for (int r = rowFrom; r < rowTo; r++) {
            int t = 0;
            for (; t + 4 <= n; t += 4) {
                fourTokens(r, xs[t], xs[t + 1], xs[t + 2], xs[t + 3], xOffset, outs[t], outs[t + 1], outs[t + 2], outs[t + 3],
                        outOffset + r);
            }
            for (; t < n; t++) {
                outs[t][outOffset + r] = oneToken(r, xs[t], xOffset);
            }
        }
    }

    /** Blocks whose columns are whole vectors; the rest go through {@link #scalarBlocks}. */
    private int vectorBlocks() {
        return BLOCK % L == 0 ? cols / BLOCK : 0;
    }

    private float oneToken(int r, float[] x, int xOffset) {
        long base = (long) r * cols;
        int scaleBase = r * blocksPerRow;
        int vectorBlocks = vectorBlocks();
        FloatVector a = FloatVector.zero(F), b = a, c = a, d = a;
        for (int block = 0; block < vectorBlocks; block++) {
            FloatVector acc = FloatVector.zero(F);
            for (int v = 0, col = block * BLOCK; v < VECTORS_PER_BLOCK; v++, col += L) {
                FloatVector w = (FloatVector) ((IntVector) ByteVector.fromMemorySegment(B, values, base + col, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0)).convertShape(VectorOperators.I2F, F, 0);
                acc = w.fma(FloatVector.fromArray(F, x, xOffset + col), acc);
            }
            FloatVector next = acc.fma(FloatVector.broadcast(F, scales[scaleBase + block]), a);
            a = b;
            b = c;
            c = d;
            d = next;
        }
        for (int k = (4 - (vectorBlocks & 3)) & 3; k > 0; k--) {     // rotate back: `a` is total 0 again
            FloatVector first = a;
            a = b;
            b = c;
            c = d;
            d = first;
        }
        return Lanes.sum(a.add(b).add(c.add(d))) + scalarBlocks(r, x, xOffset);
    }

    /**
     * One token against rows {@code r0} and {@code r1} ({@link RowPairs}), each sum exactly {@link #oneToken}'s, each
     * input vector loaded once for both. q8's one-token product is bound by its arithmetic (widen, convert, FMA) rather
     * than by memory, and the second row's chains fill the pipes the first leaves idle.
     */
    private void twoRows(int r0, int r1, float[] x, int xOffset, float[] out, int outOffset) {
        long base0 = (long) r0 * cols;
        long base1 = (long) r1 * cols;
        int scaleBase0 = r0 * blocksPerRow;
        int scaleBase1 = r1 * blocksPerRow;
        int vectorBlocks = vectorBlocks();
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, b0 = z, c0 = z, d0 = z, a1 = z, b1 = z, c1 = z, d1 = z;
        for (int block = 0; block < vectorBlocks; block++) {
            FloatVector acc0 = z, acc1 = z;
            for (int v = 0, col = block * BLOCK; v < VECTORS_PER_BLOCK; v++, col += L) {
                FloatVector xv = FloatVector.fromArray(F, x, xOffset + col);
                FloatVector w0 = (FloatVector) ((IntVector) ByteVector.fromMemorySegment(B, values, base0 + col, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0)).convertShape(VectorOperators.I2F, F, 0);
                FloatVector w1 = (FloatVector) ((IntVector) ByteVector.fromMemorySegment(B, values, base1 + col, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0)).convertShape(VectorOperators.I2F, F, 0);
                acc0 = w0.fma(xv, acc0);
                acc1 = w1.fma(xv, acc1);
            }
            FloatVector n0 = acc0.fma(FloatVector.broadcast(F, scales[scaleBase0 + block]), a0);
            FloatVector n1 = acc1.fma(FloatVector.broadcast(F, scales[scaleBase1 + block]), a1);
            a0 = b0; b0 = c0; c0 = d0; d0 = n0;
            a1 = b1; b1 = c1; c1 = d1; d1 = n1;
        }
        for (int k = (4 - (vectorBlocks & 3)) & 3; k > 0; k--) {
            FloatVector f0 = a0, f1 = a1;
            a0 = b0; b0 = c0; c0 = d0; d0 = f0;
            a1 = b1; b1 = c1; c1 = d1; d1 = f1;
        }
        out[outOffset + r0] = Lanes.sum(a0.add(b0).add(c0.add(d0))) + scalarBlocks(r0, x, xOffset);
        out[outOffset + r1] = Lanes.sum(a1.add(b1).add(c1.add(d1))) + scalarBlocks(r1, x, xOffset);
    }

    /** Four tokens against one row, each int8 vector widened once; each token's sum is exactly {@link #oneToken}'s. */
    private void fourTokens(int r, float[] x0, float[] x1, float[] x2, float[] x3, int xOffset,
            float[] o0, float[] o1, float[] o2, float[] o3, int oi) {
        long base = (long) r * cols;
        int scaleBase = r * blocksPerRow;
        int vectorBlocks = vectorBlocks();
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, b0 = z, c0 = z, d0 = z, a1 = z, b1 = z, c1 = z, d1 = z;
        FloatVector a2 = z, b2 = z, c2 = z, d2 = z, a3 = z, b3 = z, c3 = z, d3 = z;
        for (int block = 0; block < vectorBlocks; block++) {
            FloatVector acc0 = z, acc1 = z, acc2 = z, acc3 = z;
            for (int v = 0, col = block * BLOCK; v < VECTORS_PER_BLOCK; v++, col += L) {
                FloatVector w = (FloatVector) ((IntVector) ByteVector.fromMemorySegment(B, values, base + col, ByteOrder.LITTLE_ENDIAN)
                        .convertShape(VectorOperators.B2I, I, 0)).convertShape(VectorOperators.I2F, F, 0);
                acc0 = w.fma(FloatVector.fromArray(F, x0, xOffset + col), acc0);
                acc1 = w.fma(FloatVector.fromArray(F, x1, xOffset + col), acc1);
                acc2 = w.fma(FloatVector.fromArray(F, x2, xOffset + col), acc2);
                acc3 = w.fma(FloatVector.fromArray(F, x3, xOffset + col), acc3);
            }
            FloatVector s = FloatVector.broadcast(F, scales[scaleBase + block]);
            FloatVector n0 = acc0.fma(s, a0), n1 = acc1.fma(s, a1), n2 = acc2.fma(s, a2), n3 = acc3.fma(s, a3);
            a0 = b0; b0 = c0; c0 = d0; d0 = n0;
            a1 = b1; b1 = c1; c1 = d1; d1 = n1;
            a2 = b2; b2 = c2; c2 = d2; d2 = n2;
            a3 = b3; b3 = c3; c3 = d3; d3 = n3;
        }
        for (int k = (4 - (vectorBlocks & 3)) & 3; k > 0; k--) {
            FloatVector f0 = a0, f1 = a1, f2 = a2, f3 = a3;
            a0 = b0; b0 = c0; c0 = d0; d0 = f0;
            a1 = b1; b1 = c1; c1 = d1; d1 = f1;
            a2 = b2; b2 = c2; c2 = d2; d2 = f2;
            a3 = b3; b3 = c3; c3 = d3; d3 = f3;
        }
        o0[oi] = Lanes.sum(a0.add(b0).add(c0.add(d0))) + scalarBlocks(r, x0, xOffset);
        o1[oi] = Lanes.sum(a1.add(b1).add(c1.add(d1))) + scalarBlocks(r, x1, xOffset);
        o2[oi] = Lanes.sum(a2.add(b2).add(c2.add(d2))) + scalarBlocks(r, x2, xOffset);
        o3[oi] = Lanes.sum(a3.add(b3).add(c3.add(d3))) + scalarBlocks(r, x3, xOffset);
    }

    /** The blocks past the vector ones (all of them when a block is not whole vectors), each scaled once, in order. */
    private float scalarBlocks(int r, float[] x, int xOffset) {
        long base = (long) r * cols;
        int scaleBase = r * blocksPerRow;
        float scalar = 0;
        for (int block = vectorBlocks(); block < blocksPerRow; block++) {
            int from = block * BLOCK;
            int to = Math.min(cols, from + BLOCK);
            float partial = 0;
            for (int col = from; col < to; col++) {
                partial += values.get(ValueLayout.JAVA_BYTE, base + col) * x[xOffset + col];
            }
            scalar += partial * scales[scaleBase + block];
        }
        return scalar;
    }
}
