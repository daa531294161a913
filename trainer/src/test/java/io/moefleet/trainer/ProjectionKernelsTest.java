package io.moefleet.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The tiled backward kernels of {@link Projection} against their scalar references, bit for bit. */
class ProjectionKernelsTest {

    @ParameterizedTest(name = "{0} rows x {1} cols, {2} tokens")
    @CsvSource({"7, 203, 5", "64, 128, 33", "1, 17, 1", "12, 64, 2", "9, 96, 40"})
    void tiledKernelsEqualTheScalarReferences(int rows, int cols, int tokens) {
        SplittableRandom random = new SplittableRandom(rows * 31L + cols);
        float[][] x = TestModels.gaussian(random, tokens, cols);
        float[][] dy = TestModels.gaussian(random, tokens, rows);
        for (int t = 0; t < tokens; t++) {
            for (int r = 0; r < rows; r++) {
                if (random.nextInt(4) == 0) {
                    dy[t][r] = 0f; // rows no token reached, as in an expert's gate
                }
            }
        }
        float[] w = TestModels.gaussian(random, 1, rows * cols)[0];

        float[] dw = TestModels.gaussian(random, 1, rows * cols)[0];
        float[] expectedDw = dw.clone();
        Projection.referenceWeightGradient(expectedDw, cols, 0, rows, x, dy, tokens);
        Projection.weightGradient(dw, cols, 0, rows / 2, x, dy, tokens);
        Projection.weightGradient(dw, cols, rows / 2, rows, x, dy, tokens);
        assertArrayEquals(expectedDw, dw);

        float[][] dx = TestModels.gaussian(random, tokens, cols);
        float[][] expectedDx = new float[tokens][];
        for (int t = 0; t < tokens; t++) {
            expectedDx[t] = dx[t].clone();
        }
        Projection.referenceInputGradient(w, rows, cols, dy, expectedDx, 0, tokens);
        Projection.inputGradient(w, rows, cols, dy, dx, 0, tokens / 2);
        Projection.inputGradient(w, rows, cols, dy, dx, tokens / 2, tokens);
        for (int t = 0; t < tokens; t++) {
            assertArrayEquals(expectedDx[t], dx[t], "token " + t);
        }
    }
}
