package io.moefleet.model.weights;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.safetensors.DType;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The q8 kernel's output stays within 1% relative L2 error of the F32 kernel's, on random matrices and inputs. */
class Q8AccuracyTest {

    @ParameterizedTest(name = "[{0} x {1}]")
    @CsvSource({"64, 64", "100, 257", "512, 1024", "1024, 512", "33, 4096"})
    void q8IsWithinOnePercentOfF32(int rows, int cols) {
        SplittableRandom random = new SplittableRandom(rows * 31L + cols);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(4L * rows * cols);
            for (long i = 0; i < (long) rows * cols; i++) {
                data.set(FloatCodec.FLOAT_LE, 4 * i, (float) (random.nextGaussian() / Math.sqrt(cols)));
            }
            Linear exact = new DenseLinear(data, DType.F32, rows, cols);
            Linear q8 = Q8BlockLinear.quantize(exact, arena);
            int tokens = 5;
            float[][] xs = new float[tokens][cols];
            for (float[] x : xs) {
                for (int c = 0; c < cols; c++) {
                    x[c] = (float) random.nextGaussian();
                }
            }
            float[][] want = new float[tokens][rows];
            float[][] got = new float[tokens][rows];
            exact.multiply(xs, 0, tokens, want, 0, 0, rows);
            q8.multiply(xs, 0, tokens, got, 0, 0, rows);
            for (int t = 0; t < tokens; t++) {
                double error = 0, norm = 0;
                for (int r = 0; r < rows; r++) {
                    error += Math.pow(got[t][r] - want[t][r], 2);
                    norm += Math.pow(want[t][r], 2);
                }
                double relative = Math.sqrt(error / norm);
                assertTrue(relative < 0.01, "token " + t + ": relative L2 error " + relative);
                assertTrue(relative > 0, "q8 is not exact: the test would not notice a q8 kernel that is plain F32");
            }
        }
    }
}
