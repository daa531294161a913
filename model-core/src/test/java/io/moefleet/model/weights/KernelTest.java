package io.moefleet.model.weights;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moefleet.model.safetensors.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every format's vector kernel against its scalar reference, on random matrices of odd sizes (ragged vectors, blocks
 * and groups); and the kernel's batch invariance: a token's result is bitwise the same alone, in any batch, and
 * whatever rows a thread is given. Batches run up to 17 tokens: past the point where the dense BF16 kernel tiles four
 * rows by four tokens ({@link DenseLinear#TILES_FROM_TOKENS}), with a last group of one to three tokens, and over
 * matrices whose row blocks leave rows that fill no tile (the shapes with 1000 and 1024 columns span several blocks).
 */
class KernelTest {

    static Stream<Arguments> shapes() {
        return Stream.of(
                Arguments.of(1, 1), Arguments.of(3, 5), Arguments.of(7, 16), Arguments.of(17, 33), Arguments.of(33, 64),
                Arguments.of(40, 127), Arguments.of(64, 130), Arguments.of(65, 257), Arguments.of(130, 260), Arguments.of(9, 1024),
                Arguments.of(37, 1024), Arguments.of(45, 1000));
    }

    private interface Factory {
        Linear make(Arena arena, SplittableRandom random, int rows, int cols);
    }

    private static final Factory BF16 = (arena, random, rows, cols) -> dense(arena, random, rows, cols, DType.BF16);
    private static final Factory F32 = (arena, random, rows, cols) -> dense(arena, random, rows, cols, DType.F32);
    private static final Factory F16 = (arena, random, rows, cols) -> dense(arena, random, rows, cols, DType.F16);
    private static final Factory FP8_128 = (arena, random, rows, cols) -> fp8(arena, random, rows, cols, 128, 128);
    private static final Factory FP8_RAGGED = (arena, random, rows, cols) -> fp8(arena, random, rows, cols, 24, 40);
    private static final Factory INT4_32 = (arena, random, rows, cols) -> int4(arena, random, rows, cols, 32);
    private static final Factory INT4_64 = (arena, random, rows, cols) -> int4(arena, random, rows, cols, 64);
    private static final Factory INT4_ODD_GROUP = (arena, random, rows, cols) -> int4(arena, random, rows, cols, 24);
    private static final Factory Q8 = (arena, random, rows, cols) -> Q8BlockLinear.quantize(dense(arena, random, rows, cols, DType.F32), arena);

    static Stream<Arguments> formats() {
        return Stream.of(Arguments.of("BF16", BF16), Arguments.of("F32", F32), Arguments.of("F16", F16),
                Arguments.of("FP8 128x128", FP8_128), Arguments.of("FP8 24x40", FP8_RAGGED),
                Arguments.of("INT4 g32", INT4_32), Arguments.of("INT4 g64", INT4_64), Arguments.of("INT4 g24", INT4_ODD_GROUP),
                Arguments.of("Q8", Q8));
    }

    static Stream<Arguments> cases() {
        return formats().flatMap(f -> shapes().map(s -> Arguments.of(f.get()[0], f.get()[1], s.get()[0], s.get()[1])));
    }

    @ParameterizedTest(name = "{0} [{2} x {3}]")
    @MethodSource("cases")
    void kernelAgreesWithScalarReferenceAndIsBatchInvariant(String name, Factory factory, int rows, int cols) {
        SplittableRandom random = new SplittableRandom(rows * 1000L + cols);
        try (Arena arena = Arena.ofConfined()) {
            Linear w = factory.make(arena, random, rows, cols);
            int tokens = 17;
            float[][] xs = new float[tokens][cols + 3];
            for (float[] x : xs) {
                for (int i = 0; i < x.length; i++) {
                    x[i] = (float) random.nextGaussian();
                }
            }
            int xOffset = 3;                                     // inputs that do not start at index 0
            float[][] batch = new float[tokens][rows];
            w.multiply(xs, xOffset, tokens, batch, 0, 0, rows);

            float[] row = new float[cols];
            for (int t = 0; t < tokens; t++) {
                for (int r = 0; r < rows; r++) {
                    w.row(r, row, 0);
                    double exact = 0, magnitude = 0;
                    for (int c = 0; c < cols; c++) {
                        exact += (double) row[c] * xs[t][xOffset + c];
                        magnitude += Math.abs((double) row[c] * xs[t][xOffset + c]);
                    }
                    double bound = 1e-6 * magnitude + 1e-30;      // float32 summation error stays far below this
                    assertEquals(exact, w.referenceDot(r, xs[t], xOffset), bound, name + " reference row " + r);
                    assertEquals(exact, batch[t][r], bound, name + " kernel row " + r + " token " + t);
                }
            }
            // alone, in batches of every size, and with rows split at odd places: the same bits
            for (int t = 0; t < tokens; t++) {
                float[][] alone = new float[1][rows];
                w.multiply(new float[][] {xs[t]}, xOffset, 1, alone, 0, 0, rows);
                assertArrayEquals(batch[t], alone[0], 0f, name + " token " + t + " alone");
            }
            for (int n = 1; n <= tokens; n++) {
                float[][] part = new float[n][rows];
                int split = rows / 3;
                int secondSplit = Math.min(rows, 2 * rows / 3 + 1);
                w.multiply(xs, xOffset, n, part, 0, 0, split);
                w.multiply(xs, xOffset, n, part, 0, split, secondSplit);
                w.multiply(xs, xOffset, n, part, 0, secondSplit, rows);
                for (int t = 0; t < n; t++) {
                    assertArrayEquals(batch[t], part[t], 0f, name + " batch of " + n + ", token " + t);
                }
            }
        }
    }

    /** With 16-float vectors: whole groups of four vectors then scalar columns (133); a group, a lone vector, scalars (90). */
    static Stream<Arguments> accumulateCases() {
        return formats().flatMap(f -> Stream.of(133, 90).map(cols -> Arguments.of(f.get()[0], f.get()[1], cols)));
    }

    @ParameterizedTest(name = "{0} [37 x {2}]")
    @MethodSource("accumulateCases")
    void accumulateRowsIsTheTransposedProduct(String name, Factory factory, int cols) {
        SplittableRandom random = new SplittableRandom(3);
        int rows = 37;
        try (Arena arena = Arena.ofConfined()) {
            Linear w = factory.make(arena, random, rows, cols);
            float[] k = new float[rows + 2];
            for (int i = 0; i < k.length; i++) {
                k[i] = (float) random.nextGaussian();
            }
            float[] out = new float[cols];
            out[5] = 1f;
            w.accumulateRows(4, 30, k, 2, out);
            float[] row = new float[cols];
            double[] expected = new double[cols];
            expected[5] = 1;
            for (int r = 4; r < 30; r++) {
                w.row(r, row, 0);
                for (int c = 0; c < cols; c++) {
                    expected[c] += (double) k[2 + r - 4] * row[c];
                }
            }
            for (int c = 0; c < cols; c++) {
                assertEquals(expected[c], out[c], 1e-4, name + " column " + c);
            }
        }
    }

    // ---- random matrices in each storage format ----

    private static Linear dense(Arena arena, SplittableRandom random, int rows, int cols, DType dtype) {
        MemorySegment data = arena.allocate((long) rows * cols * dtype.bytes() + 1).asSlice(1);   // unaligned on purpose
        for (long i = 0; i < (long) rows * cols; i++) {
            float v = (float) random.nextGaussian();
            switch (dtype) {
                case BF16 -> data.set(FloatCodec.SHORT_LE, 2 * i, (short) (Float.floatToIntBits(v) >>> 16));
                case F16 -> data.set(FloatCodec.SHORT_LE, 2 * i, Float.floatToFloat16(v));
                default -> data.set(FloatCodec.FLOAT_LE, 4 * i, v);
            }
        }
        return new DenseLinear(data, dtype, rows, cols);
    }

    private static Linear fp8(Arena arena, SplittableRandom random, int rows, int cols, int blockRows, int blockCols) {
        MemorySegment data = arena.allocate((long) rows * cols + 1).asSlice(1);
        for (long i = 0; i < (long) rows * cols; i++) {
            int code;
            do {
                code = random.nextInt(256);
            } while ((code & 0x7F) == 0x7F);                    // the two NaN codes never occur in weights
            data.set(ValueLayout.JAVA_BYTE, i, (byte) code);
        }
        float[] scales = new float[Math.ceilDiv(rows, blockRows) * Math.ceilDiv(cols, blockCols)];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = (float) Math.scalb(1 + random.nextDouble(), -random.nextInt(12));
        }
        return new Fp8BlockLinear(data, scales, rows, cols, blockRows, blockCols);
    }

    private static Linear int4(Arena arena, SplittableRandom random, int rows, int cols, int group) {
        int words = PackedIntLinear.wordsPerRow(cols, 4);
        MemorySegment data = arena.allocate(4L * rows * words + 1).asSlice(1);
        for (long i = 0; i < (long) rows * words; i++) {
            data.set(FloatCodec.INT_LE, 4 * i, random.nextInt());
        }
        float[] scales = new float[rows * Math.ceilDiv(cols, group)];
        for (int i = 0; i < scales.length; i++) {
            scales[i] = (float) (0.01 + random.nextDouble());
        }
        return new PackedIntLinear(data, scales, 2, rows, cols, 4, group);
    }
}
