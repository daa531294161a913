package io.moefleet.model.weights;

import io.moefleet.model.compute.Lanes;
import java.lang.foreign.Arena;
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

    /** Quantizes {@code source} row by row from its dequantised reference; the int8 values live in {@code arena}. */
    public static Q8BlockLinear quantize(Linear source, Arena arena) {
        int rows = source.rows();
        int cols = source.cols();
        int blocks = Math.ceilDiv(cols, BLOCK);
        MemorySegment values = arena.allocate((long) rows * cols, 64);
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
     * into total b % 4, rotating as in {@link DenseLinear}, so that blocks do not wait on each other); a ragged last
     * block in scalar code. The same operations for a token whatever its batch.
     */
    @Override
    public void multiply(float[][] xs, int xOffset, int n, float[][] outs, int outOffset, int rowFrom, int rowTo) {
        int vectorBlocks = BLOCK % L == 0 ? cols / BLOCK : 0;
        for (int r = rowFrom; r < rowTo; r++) {
            long base = (long) r * cols;
            int scaleBase = r * blocksPerRow;
            for (int t = 0; t < n; t++) {
                float[] x = xs[t];
                FloatVector a = FloatVector.zero(F), b = a, c = a, d = a;
                for (int block = 0; block < vectorBlocks; block++) {
                    FloatVector acc = FloatVector.zero(F);
                    for (int col = block * BLOCK; col < (block + 1) * BLOCK; col += L) {
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
                float scalar = 0;
                for (int block = vectorBlocks; block < blocksPerRow; block++) {
                    int from = block * BLOCK;
                    int to = Math.min(cols, from + BLOCK);
                    float partial = 0;
                    for (int col = from; col < to; col++) {
                        partial += values.get(ValueLayout.JAVA_BYTE, base + col) * x[xOffset + col];
                    }
                    scalar += partial * scales[scaleBase + block];
                }
                outs[t][outOffset + r] = Lanes.sum(a.add(b).add(c.add(d))) + scalar;
            }
        }
    }
}
