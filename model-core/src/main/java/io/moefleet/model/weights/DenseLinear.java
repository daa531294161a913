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
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
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

    /** A (row, token) sum's vector part plus its scalar tail; without a tail, the sum as it is (adding 0 would turn -0 into +0). */
    private float plusTail(float sum, long base, float[] x, int xOffset) {
        return full == cols ? sum : sum + tail(base, x, xOffset);
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
        if (n == 1) {
            RowPairs.run(rowFrom, rowTo, 1, (r0, r1, t) -> oneTokenTwoRows((long) r0 * cols, (long) r1 * cols, xs[0], xOffset,
                    outs[0], outOffset + r0, outOffset + r1), (r, t) -> outs[0][outOffset + r] = oneToken((long) r * cols, xs[0], xOffset));
            return;
        }
        if (n == 2) {
            RowPairs.run(rowFrom, rowTo, 1, (r0, r1, t) -> twoTokensTwoRows((long) r0 * cols, (long) r1 * cols, xs[0], xs[1],
                    xOffset, outs[0], outs[1], outOffset + r0, outOffset + r1),
                    (r, t) -> twoTokens((long) r * cols, xs[0], xs[1], xOffset, outs[0], outs[1], outOffset + r));
            return;
        }
        // Rows in blocks of about 32 KB: each group of tokens' inputs then stays in L1 while the block's rows (in L2) pass
        // under it, rather than every row pulling every token's input through L1 again. Only the order of (row, token)
        // pairs changes; each pair's sum does not.
        int blockRows = Math.max(TILE, (32 << 10) / (cols * dtype.bytes()));
        float[] tileLanes = n >= TILES_FROM_TOKENS && bf16 && L == 16 ? new float[L] : null;    // the tile's folds are written for 16 lanes
        for (int r0 = rowFrom; r0 < rowTo; r0 += blockRows) {
            int r1 = Math.min(rowTo, r0 + blockRows);
            if (tileLanes != null) {
                tiles(r0, r1, xs, xOffset, n, outs, outOffset, tileLanes);
                continue;
            }
            int t = 0;
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
            if (t < n) {
                for (int r = r0; r < r1; r++) {
                    outs[t][outOffset + r] = oneToken((long) r * cols, xs[t], xOffset);
                }
            }
        }
    }

    /**
     * From this many tokens on, BF16 rows go four at a time against four tokens ({@link #tiles}); below it, one or two
     * tokens against two rows ({@link #oneTokenTwoRows}, {@link #twoTokensTwoRows}). Decode
     * at batch 32 (routed experts of about four tokens) measured 1.18 times the old kernels with tiles from 3 tokens,
     * 1.14 from 4 and 1.08 from 6; batch 8 1.22 from 3 and 1.06 from 2.
     */
    static final int TILES_FROM_TOKENS = 3;
    static final int TILE = 4;

    /**
     * Every token, in groups of four, over the block's rows four at a time ({@link #fourRowsFourTokens}). A last group
     * of one to three tokens repeats its last token to fill the tile and keeps only its own sums: the block is in L2 by
     * then, and a quarter-used tile is about as fast as {@link #oneToken}'s single chain. Rows i, i + q, i + 2q and
     * i + 3q of the block (q a quarter of it) go together: four sequential streams a quarter block apart, which the
     * hardware prefetchers follow, where adjacent rows (a few KB apart, often in one page) read in lockstep stream
     * from memory markedly slower. The block's last rows (fewer than four) go through {@link #fourTokens}, likewise
     * filled.
     */
    private void tiles(int r0, int r1, float[][] xs, int xOffset, int n, float[][] outs, int outOffset, float[] lanes) {
        int q = (r1 - r0) / TILE;
        for (int t = 0; t < n; t += TILE) {
            int tokens = Math.min(TILE, n - t);
            for (int i = 0; i < q; i++) {
                fourRowsFourTokens(r0 + i, q, xs, t, tokens, xOffset, outs, outOffset, lanes);
            }
            int last = t + tokens - 1;
            for (int r = r0 + TILE * q; r < r1; r++) {
                fourTokens((long) r * cols, xs[t], xs[Math.min(t + 1, last)], xs[Math.min(t + 2, last)], xs[last], xOffset,
                        outs[t], outs[Math.min(t + 1, last)], outs[Math.min(t + 2, last)], outs[last], outOffset + r);
            }
        }
    }

    /*
     * Each (row, token) sum is one FMA chain over the row's whole vectors in column order, its lanes then folded in
     * halves as Lanes.sum folds them, plus the scalar tail: every kernel below performs exactly these operations for
     * each of its (row, token) pairs, so a token's result does not depend on the batch or on the rows a thread is
     * given. One chain per pair leaves the registers for many pairs at once (a lone pair from cache would need several
     * to hide the FMA latency; from memory, as in decode, one is as fast): four rows against four tokens are sixteen independent chains, each weight
     * vector widened once for four tokens and each input vector loaded once for four rows. The loads are written out
     * in the loops rather than in a helper: a helper returning a vector that C2 declines to inline (it may, when it
     * compiles a kernel with a cold profile) boxes every vector and makes the kernel a hundred times slower.
     */

    private float oneToken(long base, float[] x, int xo) {
        FloatVector acc = FloatVector.zero(F);
        for (int col = 0; col < full; col += L) {
            FloatVector w = bf16
                    ? ShortVector.fromMemorySegment(S, data, (base + col) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, data, (base + col) * 4, ByteOrder.LITTLE_ENDIAN);
            acc = w.fma(FloatVector.fromArray(F, x, xo + col), acc);
        }
        return plusTail(Lanes.sum(acc), base, x, xo);
    }

    /**
     * One token against two rows ({@link RowPairs}), each sum exactly {@link #oneToken}'s: two chains, two streams. The
     * same pairing half a 32 KB block apart rather than half a run read 0.91 of one row at a time: too close.
     */
    private void oneTokenTwoRows(long base0, long base1, float[] x, int xo, float[] out, int o0, int o1) {
        FloatVector acc0 = FloatVector.zero(F), acc1 = acc0;
        for (int col = 0; col < full; col += L) {
            FloatVector xv = FloatVector.fromArray(F, x, xo + col);
            FloatVector w0 = bf16
                    ? ShortVector.fromMemorySegment(S, data, (base0 + col) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, data, (base0 + col) * 4, ByteOrder.LITTLE_ENDIAN);
            FloatVector w1 = bf16
                    ? ShortVector.fromMemorySegment(S, data, (base1 + col) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, data, (base1 + col) * 4, ByteOrder.LITTLE_ENDIAN);
            acc0 = w0.fma(xv, acc0);
            acc1 = w1.fma(xv, acc1);
        }
        out[o0] = plusTail(Lanes.sum(acc0), base0, x, xo);
        out[o1] = plusTail(Lanes.sum(acc1), base1, x, xo);
    }

    /**
     * Two tokens against two rows ({@link RowPairs}), each sum exactly {@link #oneToken}'s: four chains, two streams.
     * Paired inside one engine against {@link #twoTokens} one row at a time: decode at batch 2 1.025 and 1.083, at
     * batch 8 (its routed experts of one or two tokens) 1.058 and 1.014 (2026-12-08, 20-30 pairs a run).
     */
    private void twoTokensTwoRows(long base0, long base1, float[] x0, float[] x1, int xo, float[] out0, float[] out1, int o0, int o1) {
        FloatVector a00 = FloatVector.zero(F), a01 = a00, a10 = a00, a11 = a00;
        for (int col = 0; col < full; col += L) {
            FloatVector xv0 = FloatVector.fromArray(F, x0, xo + col);
            FloatVector xv1 = FloatVector.fromArray(F, x1, xo + col);
            FloatVector w0 = bf16
                    ? ShortVector.fromMemorySegment(S, data, (base0 + col) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, data, (base0 + col) * 4, ByteOrder.LITTLE_ENDIAN);
            FloatVector w1 = bf16
                    ? ShortVector.fromMemorySegment(S, data, (base1 + col) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, data, (base1 + col) * 4, ByteOrder.LITTLE_ENDIAN);
            a00 = w0.fma(xv0, a00);
            a01 = w0.fma(xv1, a01);
            a10 = w1.fma(xv0, a10);
            a11 = w1.fma(xv1, a11);
        }
        out0[o0] = plusTail(Lanes.sum(a00), base0, x0, xo);
        out1[o0] = plusTail(Lanes.sum(a01), base0, x1, xo);
        out0[o1] = plusTail(Lanes.sum(a10), base1, x0, xo);
        out1[o1] = plusTail(Lanes.sum(a11), base1, x1, xo);
    }

    /** Two tokens against one row, the row read and widened once; each token's sum is exactly {@link #oneToken}'s. */
    private void twoTokens(long base, float[] x0, float[] x1, int xo, float[] o0, float[] o1, int oi) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0;
        for (int col = 0; col < full; col += L) {
            FloatVector w = bf16
                    ? ShortVector.fromMemorySegment(S, data, (base + col) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, data, (base + col) * 4, ByteOrder.LITTLE_ENDIAN);
            a0 = w.fma(FloatVector.fromArray(F, x0, xo + col), a0);
            a1 = w.fma(FloatVector.fromArray(F, x1, xo + col), a1);
        }
        o0[oi] = plusTail(Lanes.sum(a0), base, x0, xo);
        o1[oi] = plusTail(Lanes.sum(a1), base, x1, xo);
    }

    /** Four tokens against one row, the row read once; each token's sum is exactly {@link #oneToken}'s. */
    private void fourTokens(long base, float[] x0, float[] x1, float[] x2, float[] x3, int xo,
            float[] o0, float[] o1, float[] o2, float[] o3, int oi) {
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int col = 0; col < full; col += L) {
            FloatVector w = bf16
                    ? ShortVector.fromMemorySegment(S, data, (base + col) * 2, ByteOrder.LITTLE_ENDIAN)
                            .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    : FloatVector.fromMemorySegment(F, data, (base + col) * 4, ByteOrder.LITTLE_ENDIAN);
            a0 = w.fma(FloatVector.fromArray(F, x0, xo + col), a0);
            a1 = w.fma(FloatVector.fromArray(F, x1, xo + col), a1);
            a2 = w.fma(FloatVector.fromArray(F, x2, xo + col), a2);
            a3 = w.fma(FloatVector.fromArray(F, x3, xo + col), a3);
        }
        o0[oi] = plusTail(Lanes.sum(a0), base, x0, xo);
        o1[oi] = plusTail(Lanes.sum(a1), base, x1, xo);
        o2[oi] = plusTail(Lanes.sum(a2), base, x2, xo);
        o3[oi] = plusTail(Lanes.sum(a3), base, x3, xo);
    }

    /*
     * Lanes.sum's folds done for sixteen vectors at once: a fold of two vectors at distance d adds lane i to lane i ^ d
     * within each (blending the two so that each keeps the lanes whose bit d is clear for the first vector and set for
     * the second), so after the four folds lane k holds vector reverse(k)'s sum (k's four bits reversed), each from
     * exactly Lanes.sum's additions: fifteen folds for sixteen sums instead of sixty-four shuffles and adds.
     */
    private static final VectorMask<Float> HIGH_8 = VectorMask.fromLong(F, 0xFF00L);
    private static final VectorMask<Float> HIGH_4 = VectorMask.fromLong(F, 0xF0F0L);
    private static final VectorMask<Float> HIGH_2 = VectorMask.fromLong(F, 0xCCCCL);
    private static final VectorMask<Float> HIGH_1 = VectorMask.fromLong(F, 0xAAAAL);
    private static final VectorShuffle<Float> SWAP_8 = VectorShuffle.fromOp(F, i -> i ^ 8);
    private static final VectorShuffle<Float> SWAP_4 = VectorShuffle.fromOp(F, i -> i ^ 4);
    private static final VectorShuffle<Float> SWAP_2 = VectorShuffle.fromOp(F, i -> i ^ 2);
    private static final VectorShuffle<Float> SWAP_1 = VectorShuffle.fromOp(F, i -> i ^ 1);
    /** The lane of pair k (row k / 4, token k % 4) after the folds: k's four bits reversed. */
    private static final int[] REVERSED = {0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15};

    /**
     * BF16 rows {@code a}, {@code a + q}, {@code a + 2q}, {@code a + 3q} against four tokens: sixteen chains, each
     * widened weight vector feeding four of them and each input vector four, a quarter of a load and of a widening per
     * FMA. Each (row, token) sum is exactly {@link #oneToken}'s.
     */
    private void fourRowsFourTokens(int a, int q, float[][] xs, int t, int tokens, int xo, float[][] outs, int oo,
            float[] lanes) {
        int last = t + tokens - 1;
        float[] x0 = xs[t], x1 = xs[Math.min(t + 1, last)], x2 = xs[Math.min(t + 2, last)], x3 = xs[last];
        long b0 = (long) a * cols, b1 = (long) (a + q) * cols, b2 = (long) (a + 2 * q) * cols, b3 = (long) (a + 3 * q) * cols;
        FloatVector z = FloatVector.zero(F);
        FloatVector s00 = z, s01 = z, s02 = z, s03 = z, s10 = z, s11 = z, s12 = z, s13 = z;   // s<row><token>
        FloatVector s20 = z, s21 = z, s22 = z, s23 = z, s30 = z, s31 = z, s32 = z, s33 = z;
        for (int col = 0; col < full; col += L) {
            FloatVector w0 = ShortVector.fromMemorySegment(S, data, (b0 + col) * 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w1 = ShortVector.fromMemorySegment(S, data, (b1 + col) * 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w2 = ShortVector.fromMemorySegment(S, data, (b2 + col) * 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector w3 = ShortVector.fromMemorySegment(S, data, (b3 + col) * 2, ByteOrder.LITTLE_ENDIAN)
                    .convertShape(VectorOperators.S2I, I, 0).lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            FloatVector v = FloatVector.fromArray(F, x0, xo + col);
            s00 = w0.fma(v, s00); s10 = w1.fma(v, s10); s20 = w2.fma(v, s20); s30 = w3.fma(v, s30);
            v = FloatVector.fromArray(F, x1, xo + col);
            s01 = w0.fma(v, s01); s11 = w1.fma(v, s11); s21 = w2.fma(v, s21); s31 = w3.fma(v, s31);
            v = FloatVector.fromArray(F, x2, xo + col);
            s02 = w0.fma(v, s02); s12 = w1.fma(v, s12); s22 = w2.fma(v, s22); s32 = w3.fma(v, s32);
            v = FloatVector.fromArray(F, x3, xo + col);
            s03 = w0.fma(v, s03); s13 = w1.fma(v, s13); s23 = w2.fma(v, s23); s33 = w3.fma(v, s33);
        }
        FloatVector h0 = s00.blend(s01, HIGH_8).add(s01.blend(s00, HIGH_8).rearrange(SWAP_8));
        FloatVector h1 = s02.blend(s03, HIGH_8).add(s03.blend(s02, HIGH_8).rearrange(SWAP_8));
        FloatVector h2 = s10.blend(s11, HIGH_8).add(s11.blend(s10, HIGH_8).rearrange(SWAP_8));
        FloatVector h3 = s12.blend(s13, HIGH_8).add(s13.blend(s12, HIGH_8).rearrange(SWAP_8));
        FloatVector h4 = s20.blend(s21, HIGH_8).add(s21.blend(s20, HIGH_8).rearrange(SWAP_8));
        FloatVector h5 = s22.blend(s23, HIGH_8).add(s23.blend(s22, HIGH_8).rearrange(SWAP_8));
        FloatVector h6 = s30.blend(s31, HIGH_8).add(s31.blend(s30, HIGH_8).rearrange(SWAP_8));
        FloatVector h7 = s32.blend(s33, HIGH_8).add(s33.blend(s32, HIGH_8).rearrange(SWAP_8));
        FloatVector f0 = h0.blend(h1, HIGH_4).add(h1.blend(h0, HIGH_4).rearrange(SWAP_4));
        FloatVector f1 = h2.blend(h3, HIGH_4).add(h3.blend(h2, HIGH_4).rearrange(SWAP_4));
        FloatVector f2 = h4.blend(h5, HIGH_4).add(h5.blend(h4, HIGH_4).rearrange(SWAP_4));
        FloatVector f3 = h6.blend(h7, HIGH_4).add(h7.blend(h6, HIGH_4).rearrange(SWAP_4));
        FloatVector g0 = f0.blend(f1, HIGH_2).add(f1.blend(f0, HIGH_2).rearrange(SWAP_2));
        FloatVector g1 = f2.blend(f3, HIGH_2).add(f3.blend(f2, HIGH_2).rearrange(SWAP_2));
        FloatVector sums = g0.blend(g1, HIGH_1).add(g1.blend(g0, HIGH_1).rearrange(SWAP_1));
        sums.intoArray(lanes, 0);
        if (full < cols) {
            for (int k = 0; k < TILE * TILE; k++) {
                int row = a + (k >> 2) * q, token = Math.min(t + (k & 3), last);
                outs[token][oo + row] = lanes[REVERSED[k]] + tail((long) row * cols, xs[token], xo);
            }
            return;
        }
        float[] o0 = outs[t], o1 = outs[Math.min(t + 1, last)], o2 = outs[Math.min(t + 2, last)], o3 = outs[last];
        int r0 = oo + a, r1 = r0 + q, r2 = r1 + q, r3 = r2 + q;
        o0[r0] = lanes[0]; o1[r0] = lanes[8]; o2[r0] = lanes[4]; o3[r0] = lanes[12];
        o0[r1] = lanes[2]; o1[r1] = lanes[10]; o2[r1] = lanes[6]; o3[r1] = lanes[14];
        o0[r2] = lanes[1]; o1[r2] = lanes[9]; o2[r2] = lanes[5]; o3[r2] = lanes[13];
        o0[r3] = lanes[3]; o1[r3] = lanes[11]; o2[r3] = lanes[7]; o3[r3] = lanes[15];
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
