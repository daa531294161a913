package io.moefleet.model.weights;

import io.moefleet.model.compute.Lanes;

import static io.moefleet.model.weights.FloatCodec.FLOAT_LE;
import static io.moefleet.model.weights.FloatCodec.SHORT_LE;

import io.moefleet.model.safetensors.DType;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * An unquantised weight matrix, row-major: BF16 (widened to float32 in registers: the bits shifted left 16) or F32
 * with vector kernels; F16 through the scalar reference.
 */
public final class DenseLinear implements Linear {

    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    static final VectorSpecies<Integer> I = IntVector.SPECIES_PREFERRED;
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(F.vectorBitSize() / 2));
    static final int L = F.length();

    private final MemorySegment data;
    private final DType dtype;
    private final boolean bf16;
    private final int rows;
    private final int cols;
    private final int full;           // columns covered by whole vectors; the rest is a scalar tail

    public DenseLinear(MemorySegment data, DType dtype, int rows, int cols) {
        if (!FloatCodec.isFloat(dtype)) {
            throw new IllegalArgumentException("DenseLinear reads BF16, F16 or F32, not " + dtype);
        }
        if (data.byteSize() != (long) rows * cols * dtype.bytes()) {
            throw new IllegalArgumentException("segment of " + data.byteSize() + " bytes is not " + dtype + " [" + rows + ", " + cols + "]");
        }
        this.data = data;
        this.dtype = dtype;
        this.bf16 = dtype == DType.BF16;
        this.rows = rows;
        this.cols = cols;
        this.full = cols - cols % L;
    }

    public DType dtype() {
        return dtype;
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
        return data.byteSize();
    }

    @Override
    public void row(int row, float[] dst, int dstOffset) {
        long base = (long) row * cols;
        for (int c = 0; c < cols; c++) {
            dst[dstOffset + c] = FloatCodec.get(data, dtype, base + c);
        }
    }

    @Override
    public float referenceDot(int row, float[] x, int xOffset) {
        long base = (long) row * cols;
        float sum = 0;
        for (int c = 0; c < cols; c++) {
            sum += FloatCodec.get(data, dtype, base + c) * x[xOffset + c];
        }
        return sum;
    }

    private float element(long element) {
        return bf16 ? FloatCodec.bf16ToFloat(data.get(SHORT_LE, element * 2)) : data.get(FLOAT_LE, element * 4);
    }

    /** The scalar columns past the last whole vector. */
    private float tail(long base, float[] x, int xOffset) {
        float sum = 0;
        for (int c = full; c < cols; c++) {
            sum += element(base + c) * x[xOffset + c];
        }
        return sum;
    }

    @Override
    public void multiply(float[][] xs, int xOffset, int n, float[][] outs, int outOffset, int rowFrom, int rowTo) {
        if (dtype == DType.F16) {
            for (int r = rowFrom; r < rowTo; r++) {
                for (int t = 0; t < n; t++) {
                    outs[t][outOffset + r] = referenceDot(r, xs[t], xOffset);
                }
            }
            return;
        }
        // Rows in blocks of about 32 KB: each group of tokens' inputs then stays in L1 while the block's rows (in L2) pass
        // under it, rather than every row pulling every token's input through L1 again. Only the order of (row, token)
        // pairs changes; each pair's sum does not.
        int blockRows = Math.max(2, (32 << 10) / (cols * dtype.bytes()));
        for (int r0 = rowFrom; r0 < rowTo; r0 += blockRows) {
            int r1 = Math.min(rowTo, r0 + blockRows);
            int t = 0;
            if (n >= PAIRED_ROWS_FROM_TOKENS) {
                t = pairedRows(r0, r1, xs, xOffset, n, outs, outOffset);
            } else {
                for (; t + 4 <= n; t += 4) {
                    for (int r = r0; r < r1; r++) {
                        fourTokens((long) r * cols, xs[t], xs[t + 1], xs[t + 2], xs[t + 3], xOffset,
                                outs[t], outs[t + 1], outs[t + 2], outs[t + 3], outOffset + r);
                    }
                }
                if (t + 2 <= n) {
                    for (int r = r0; r < r1; r++) {
                        twoTokens((long) r * cols, xs[t], xs[t + 1], xOffset, outs[t], outs[t + 1], outOffset + r);
                    }
                    t += 2;
                }
            }
            if (t < n) {
                for (int r = r0; r < r1; r++) {
                    outs[t][outOffset + r] = oneToken((long) r * cols, xs[t], xOffset);
                }
            }
        }
    }

    /**
     * From this many tokens on, rows are paired ({@link #pairedRows}). Pairing makes the multiply-adds about a third
     * faster from cache, but a product of a few tokens is mostly the wait for its weights from memory, which one row at
     * a time (a single sequential stream) gets at least as fast: routed experts at batch 16 mostly have 1 to 5 tokens.
     * Measured on the small preset's decode, 5 to 8 here are within noise of each other and 4 slightly worse.
     */
    static final int PAIRED_ROWS_FROM_TOKENS = 6;

    /**
     * Every pair of tokens over the block's rows two at a time ({@link #twoRowsTwoTokens}); returns the tokens done. Row
     * i of the block is paired with row i + half: two sequential streams half a block apart, which the hardware
     * prefetchers follow, where adjacent rows (a few KB apart, often in one page) read in lockstep stream from memory
     * markedly slower. An odd last row goes through {@link #twoTokens}.
     */
    private int pairedRows(int r0, int r1, float[][] xs, int xOffset, int n, float[][] outs, int outOffset) {
        int half = (r1 - r0) / 2;
        int t = 0;
        for (; t + 2 <= n; t += 2) {
            for (int i = 0; i < half; i++) {
                int a = r0 + i, b = r0 + half + i;
                twoRowsTwoTokens((long) a * cols, (long) b * cols, xs[t], xs[t + 1], xOffset, outs[t], outs[t + 1],
                        outOffset + a, outOffset + b);
            }
            if ((r1 - r0) % 2 != 0) {
                twoTokens((long) (r1 - 1) * cols, xs[t], xs[t + 1], xOffset, outs[t], outs[t + 1], outOffset + r1 - 1);
            }
        }
        return t;
    }

    /*
     * Each (row, token) sum keeps four accumulators, chunk j going to accumulator j % 4, summed as (0 + 1) + (2 + 3):
     * four independent FMA chains hide the FMA latency when weights come from cache. The accumulators rotate after
     * every chunk (the current one is always `a`) so that each loop has one weight load, and every kernel below (one
     * row against one, two or four tokens; two rows against two tokens) performs exactly these operations for each of
     * its (row, token) pairs. The loads are written out in the loops rather than in a helper: a helper returning a
     * vector that C2 declines to inline (it may, when it compiles a kernel with a cold profile) boxes every vector and
     * makes the kernel a hundred times slower.
     */

    private float oneToken(long base, float[] x, int xo) {
        FloatVector a = FloatVector.zero(F), b = a, c = a, d = a;
        for (int col = 0; col < full; col += L) {
            FloatVector w = bf16
                    ? ShortVector.fromMemorySegment(S, data, (base + col) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, data, (base + col) * 4, ByteOrder.LITTLE_ENDIAN);
            FloatVector next = w.fma(FloatVector.fromArray(F, x, xo + col), a);
            a = b;
            b = c;
            c = d;
            d = next;
        }
        for (int k = (4 - (full / L & 3)) & 3; k > 0; k--) {    // rotate back: `a` is accumulator 0 again
            FloatVector first = a;
            a = b;
            b = c;
            c = d;
            d = first;
        }
        return Lanes.sum(a.add(b).add(c.add(d))) + tail(base, x, xo);
    }

    /** Two tokens against one row, the row read and widened once; each token's sum is exactly {@link #oneToken}'s. */
    private void twoTokens(long base, float[] x0, float[] x1, int xo, float[] o0, float[] o1, int oi) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, b0 = z, c0 = z, d0 = z, a1 = z, b1 = z, c1 = z, d1 = z;
        for (int col = 0; col < full; col += L) {
            FloatVector w = bf16
                    ? ShortVector.fromMemorySegment(S, data, (base + col) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, data, (base + col) * 4, ByteOrder.LITTLE_ENDIAN);
            FloatVector n0 = w.fma(FloatVector.fromArray(F, x0, xo + col), a0);
            FloatVector n1 = w.fma(FloatVector.fromArray(F, x1, xo + col), a1);
            a0 = b0; b0 = c0; c0 = d0; d0 = n0;
            a1 = b1; b1 = c1; c1 = d1; d1 = n1;
        }
        for (int k = (4 - (full / L & 3)) & 3; k > 0; k--) {
            FloatVector f0 = a0, f1 = a1;
            a0 = b0; b0 = c0; c0 = d0; d0 = f0;
            a1 = b1; b1 = c1; c1 = d1; d1 = f1;
        }
        o0[oi] = Lanes.sum(a0.add(b0).add(c0.add(d0))) + tail(base, x0, xo);
        o1[oi] = Lanes.sum(a1.add(b1).add(c1.add(d1))) + tail(base, x1, xo);
    }

    /** Four tokens against one row, the row read once; each token's sum is exactly {@link #oneToken}'s. */
    private void fourTokens(long base, float[] x0, float[] x1, float[] x2, float[] x3, int xo,
            float[] o0, float[] o1, float[] o2, float[] o3, int oi) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, b0 = z, c0 = z, d0 = z, a1 = z, b1 = z, c1 = z, d1 = z;
        FloatVector a2 = z, b2 = z, c2 = z, d2 = z, a3 = z, b3 = z, c3 = z, d3 = z;
        for (int col = 0; col < full; col += L) {
            FloatVector w = bf16
                    ? ShortVector.fromMemorySegment(S, data, (base + col) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, data, (base + col) * 4, ByteOrder.LITTLE_ENDIAN);
            FloatVector n0 = w.fma(FloatVector.fromArray(F, x0, xo + col), a0);
            FloatVector n1 = w.fma(FloatVector.fromArray(F, x1, xo + col), a1);
            FloatVector n2 = w.fma(FloatVector.fromArray(F, x2, xo + col), a2);
            FloatVector n3 = w.fma(FloatVector.fromArray(F, x3, xo + col), a3);
            a0 = b0; b0 = c0; c0 = d0; d0 = n0;
            a1 = b1; b1 = c1; c1 = d1; d1 = n1;
            a2 = b2; b2 = c2; c2 = d2; d2 = n2;
            a3 = b3; b3 = c3; c3 = d3; d3 = n3;
        }
        for (int k = (4 - (full / L & 3)) & 3; k > 0; k--) {
            FloatVector f0 = a0, f1 = a1, f2 = a2, f3 = a3;
            a0 = b0; b0 = c0; c0 = d0; d0 = f0;
            a1 = b1; b1 = c1; c1 = d1; d1 = f1;
            a2 = b2; b2 = c2; c2 = d2; d2 = f2;
            a3 = b3; b3 = c3; c3 = d3; d3 = f3;
        }
        o0[oi] = Lanes.sum(a0.add(b0).add(c0.add(d0))) + tail(base, x0, xo);
        o1[oi] = Lanes.sum(a1.add(b1).add(c1.add(d1))) + tail(base, x1, xo);
        o2[oi] = Lanes.sum(a2.add(b2).add(c2.add(d2))) + tail(base, x2, xo);
        o3[oi] = Lanes.sum(a3.add(b3).add(c3.add(d3))) + tail(base, x3, xo);
    }

    /**
     * Two rows against two tokens: each widened weight vector feeds two tokens and each input vector two rows, so
     * every FMA costs one load rather than {@link #fourTokens}' one and a quarter, and the sixteen accumulators are
     * sixteen independent chains. Each (row, token) sum is exactly {@link #oneToken}'s.
     */
    private void twoRowsTwoTokens(long baseA, long baseB, float[] x0, float[] x1, int xo,
            float[] o0, float[] o1, int oiA, int oiB) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, b0 = z, c0 = z, d0 = z, a1 = z, b1 = z, c1 = z, d1 = z;    // row A, tokens 0 and 1
        FloatVector e0 = z, f0 = z, g0 = z, h0 = z, e1 = z, f1 = z, g1 = z, h1 = z;    // row B, tokens 0 and 1
        for (int col = 0; col < full; col += L) {
            FloatVector wa = bf16
                    ? ShortVector.fromMemorySegment(S, data, (baseA + col) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, data, (baseA + col) * 4, ByteOrder.LITTLE_ENDIAN);
            FloatVector wb = bf16
                    ? ShortVector.fromMemorySegment(S, data, (baseB + col) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, data, (baseB + col) * 4, ByteOrder.LITTLE_ENDIAN);
            FloatVector v0 = FloatVector.fromArray(F, x0, xo + col);
            FloatVector v1 = FloatVector.fromArray(F, x1, xo + col);
            FloatVector nA0 = wa.fma(v0, a0), nA1 = wa.fma(v1, a1), nB0 = wb.fma(v0, e0), nB1 = wb.fma(v1, e1);
            a0 = b0; b0 = c0; c0 = d0; d0 = nA0;
            a1 = b1; b1 = c1; c1 = d1; d1 = nA1;
            e0 = f0; f0 = g0; g0 = h0; h0 = nB0;
            e1 = f1; f1 = g1; g1 = h1; h1 = nB1;
        }
        for (int k = (4 - (full / L & 3)) & 3; k > 0; k--) {
            FloatVector fA0 = a0, fA1 = a1, fB0 = e0, fB1 = e1;
            a0 = b0; b0 = c0; c0 = d0; d0 = fA0;
            a1 = b1; b1 = c1; c1 = d1; d1 = fA1;
            e0 = f0; f0 = g0; g0 = h0; h0 = fB0;
            e1 = f1; f1 = g1; g1 = h1; h1 = fB1;
        }
        o0[oiA] = Lanes.sum(a0.add(b0).add(c0.add(d0))) + tail(baseA, x0, xo);
        o1[oiA] = Lanes.sum(a1.add(b1).add(c1.add(d1))) + tail(baseA, x1, xo);
        o0[oiB] = Lanes.sum(e0.add(f0).add(g0.add(h0))) + tail(baseB, x0, xo);
        o1[oiB] = Lanes.sum(e1.add(f1).add(g1.add(h1))) + tail(baseB, x1, xo);
    }

    @Override
    public void accumulateRows(int rowFrom, int rowTo, float[] coefficients, int coefficientOffset, float[] out) {
        if (dtype == DType.F16) {
            Linear.super.accumulateRows(rowFrom, rowTo, coefficients, coefficientOffset, out);
            return;
        }
        // Each output column is one FMA chain down the rows. Four column vectors at a time give four independent chains
        // (one alone waits on the FMA latency at every row); a column's operations are the same either way.
        int c = 0;
        for (; c + 4 * L <= full; c += 4 * L) {
            FloatVector acc0 = FloatVector.fromArray(F, out, c);
            FloatVector acc1 = FloatVector.fromArray(F, out, c + L);
            FloatVector acc2 = FloatVector.fromArray(F, out, c + 2 * L);
            FloatVector acc3 = FloatVector.fromArray(F, out, c + 3 * L);
            for (int r = rowFrom; r < rowTo; r++) {
                long e = (long) r * cols + c;
                FloatVector k = FloatVector.broadcast(F, coefficients[coefficientOffset + r - rowFrom]);
                FloatVector w0, w1, w2, w3;
                if (bf16) {
                    w0 = ShortVector.fromMemorySegment(S, data, e * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                    w1 = ShortVector.fromMemorySegment(S, data, (e + L) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                    w2 = ShortVector.fromMemorySegment(S, data, (e + 2 * L) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                    w3 = ShortVector.fromMemorySegment(S, data, (e + 3 * L) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
                } else {
                    w0 = FloatVector.fromMemorySegment(F, data, e * 4, ByteOrder.LITTLE_ENDIAN);
                    w1 = FloatVector.fromMemorySegment(F, data, (e + L) * 4, ByteOrder.LITTLE_ENDIAN);
                    w2 = FloatVector.fromMemorySegment(F, data, (e + 2 * L) * 4, ByteOrder.LITTLE_ENDIAN);
                    w3 = FloatVector.fromMemorySegment(F, data, (e + 3 * L) * 4, ByteOrder.LITTLE_ENDIAN);
                }
                acc0 = w0.fma(k, acc0);
                acc1 = w1.fma(k, acc1);
                acc2 = w2.fma(k, acc2);
                acc3 = w3.fma(k, acc3);
            }
            acc0.intoArray(out, c);
            acc1.intoArray(out, c + L);
            acc2.intoArray(out, c + 2 * L);
            acc3.intoArray(out, c + 3 * L);
        }
        for (; c < full; c += L) {
            FloatVector acc = FloatVector.fromArray(F, out, c);
            for (int r = rowFrom; r < rowTo; r++) {
                long e = (long) r * cols + c;
                FloatVector w = bf16
                        ? ShortVector.fromMemorySegment(S, data, e * 2, ByteOrder.LITTLE_ENDIAN)
                                .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                        : FloatVector.fromMemorySegment(F, data, e * 4, ByteOrder.LITTLE_ENDIAN);
                acc = w.fma(FloatVector.broadcast(F, coefficients[coefficientOffset + r - rowFrom]), acc);
            }
            acc.intoArray(out, c);
        }
        for (c = full; c < cols; c++) {
            float acc = out[c];
            for (int r = rowFrom; r < rowTo; r++) {
                acc += coefficients[coefficientOffset + r - rowFrom] * element((long) r * cols + c);
            }
            out[c] = acc;
        }
    }
}
