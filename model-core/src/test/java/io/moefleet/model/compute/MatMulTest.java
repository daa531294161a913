package io.moefleet.model.compute;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.moefleet.model.safetensors.DType;
import io.moefleet.model.weights.DenseLinear;
import io.moefleet.model.weights.Linear;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class MatMulTest {

    /** Several products of odd shapes in one hand-off: every row once, the same bits on any number of threads. */
    @Test
    void productsInOneHandOffAreTheSameBitsOnAnyNumberOfThreadsAndEveryRowIsComputed() {
        SplittableRandom random = new SplittableRandom(7);
        try (Arena arena = Arena.ofShared()) {   // the workers read the weights too
            int[][] shapes = {{37, 96}, {5, 48}, {130, 80}, {1, 16}, {64, 33}};
            int[] tokens = {1, 3, 2, 7, 4};
            List<Linear> weights = new ArrayList<>();
            List<float[][]> inputs = new ArrayList<>();
            for (int j = 0; j < shapes.length; j++) {
                int rows = shapes[j][0], cols = shapes[j][1];
                MemorySegment data = arena.allocate(2L * rows * cols);
                for (long i = 0; i < (long) rows * cols; i++) {
                    // a random BF16: the top half of a random float's bits
                    data.set(ValueLayout.JAVA_SHORT_UNALIGNED, 2 * i,
                            (short) (Float.floatToRawIntBits((float) random.nextGaussian()) >>> 16));
                }
                weights.add(new DenseLinear(data, DType.BF16, rows, cols));
                float[][] xs = new float[tokens[j]][cols];
                for (float[] x : xs) {
                    for (int c = 0; c < cols; c++) {
                        x[c] = (float) random.nextGaussian();
                    }
                }
                inputs.add(xs);
            }
            List<float[][][]> results = new ArrayList<>();
            for (int threads = 1; threads <= 3; threads++) {
                try (Workers workers = new Workers(threads)) {
                    List<MatMul.Job> jobs = new ArrayList<>();
                    float[][][] outs = new float[shapes.length][][];
                    for (int j = 0; j < shapes.length; j++) {
                        outs[j] = new float[tokens[j]][shapes[j][0]];
                        for (float[] out : outs[j]) {
                            java.util.Arrays.fill(out, Float.NaN);   // a row no thread computed stays NaN
                        }
                        jobs.add(new MatMul.Job(weights.get(j), inputs.get(j), tokens[j], outs[j]));
                    }
                    new MatMul(workers).multiplyAll(jobs);
                    results.add(outs);
                }
            }
            for (int j = 0; j < shapes.length; j++) {
                for (int t = 0; t < tokens[j]; t++) {
                    float[] one = results.get(0)[j][t];
                    for (int r = 0; r < one.length; r++) {
                        assertEquals(weights.get(j).referenceDot(r, inputs.get(j)[t], 0), one[r], 1e-4f * (1 + Math.abs(one[r])),
                                "job " + j + ", token " + t + ", row " + r + " against the scalar reference");
                    }
                    assertArrayEquals(one, results.get(1)[j][t], "job " + j + ", token " + t + ": 2 threads");
                    assertArrayEquals(one, results.get(2)[j][t], "job " + j + ", token " + t + ": 3 threads");
                }
            }
        }
    }
}
