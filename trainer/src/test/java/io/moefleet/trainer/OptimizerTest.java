package io.moefleet.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.compute.Workers;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Newton–Schulz, Muon, AdamW and the load balancer against cases computed by hand (the numbers in the comments). */
class OptimizerTest {

    private static final Workers WORKERS = new Workers(2);

    @AfterAll
    static void close() {
        WORKERS.close();
    }

    /** p(x) = 3.4445x − 4.7750x³ + 2.0315x⁵ five times: what Newton–Schulz does to each normalised singular value. */
    private static double p5(double x) {
        for (int i = 0; i < 5; i++) {
            x = NewtonSchulz.A * x + NewtonSchulz.B * x * x * x + NewtonSchulz.C * x * x * x * x * x;
        }
        return x;
    }

    @Test
    void newtonSchulzOfADiagonalMatrixMapsEachEntry() {
        // diag(3, 4) / 5 = diag(0.6, 0.8); p⁵(0.6) = 0.722876, p⁵(0.8) = 1.119204
        float[] o = NewtonSchulz.orthogonalise(new float[] {3, 0, 0, 4}, 2, 2, WORKERS);
        assertArrayEquals(new float[] {0.722876f, 0, 0, 1.119204f}, o, 2e-6f);
    }

    @Test
    void newtonSchulzSingularValuesAreNearOne() {
        SplittableRandom random = new SplittableRandom(3);
        for (int[] shape : new int[][] {{12, 20}, {20, 12}}) {
            int rows = shape[0];
            int cols = shape[1];
            float[] g = new float[rows * cols];
            for (int i = 0; i < g.length; i++) {
                g[i] = (float) random.nextGaussian();
            }
            double frobenius = 0;
            for (float v : g) {
                frobenius += v * v;
            }
            frobenius = Math.sqrt(frobenius);
            double[] before = SingularValues.of(g, rows, cols);
            double[] after = SingularValues.of(NewtonSchulz.orthogonalise(g, rows, cols, WORKERS), rows, cols);
            double[] predicted = new double[before.length];
            for (int i = 0; i < before.length; i++) {
                predicted[i] = p5(before[i] / frobenius);
            }
            java.util.Arrays.sort(predicted);
            for (int i = 0; i < after.length; i++) {
                assertEquals(predicted[i], after[i], 1e-3, rows + "x" + cols + ": singular value " + i);
                assertTrue(after[i] > 0.65 && after[i] < 1.2, rows + "x" + cols + ": singular value " + after[i] + " not near 1");
            }
        }
    }

    @Test
    void muonTwoStepsByHand() {
        Parameter w = new Parameter("w", Parameter.Kind.MATRIX, 2, 2);
        System.arraycopy(new float[] {1, 2, 3, 4}, 0, w.value(), 0, 4);
        Muon muon = new Muon(0.95, 0.1, WORKERS);
        // step 1: M = G1 = diag(3, 4); Nesterov direction G1 + 0.95 M = 1.95 G1, orthogonalised diag(0.722876, 1.119204);
        // W ← W(1 − 0.1·0.1) − 0.1·0.2·sqrt(2)·O
        System.arraycopy(new float[] {3, 0, 0, 4}, 0, w.grad(), 0, 4);
        muon.step(w, 0.1);
        assertArrayEquals(new float[] {0.969554f, 1.98f, 2.97f, 3.928344f}, w.value(), 2e-6f);
        // step 2: M = 0.95 G1 + G2 = diag(3.85, 1.8) with G2 = diag(1, −2); direction G2 + 0.95 M = diag(4.6575, −0.29),
        // orthogonalised diag(0.698498, −1.062654)
        System.arraycopy(new float[] {1, 0, 0, -2}, 0, w.grad(), 0, 4);
        muon.step(w, 0.1);
        assertArrayEquals(new float[] {3.85f, 0, 0, 1.8f}, muon.momentumOf(w), 1e-6f);
        assertArrayEquals(new float[] {0.940102f, 1.9602f, 2.9403f, 3.919117f}, w.value(), 2e-6f);
    }

    @Test
    void adamWTwoStepsByHand() {
        Parameter w = new Parameter("w", Parameter.Kind.NORM, 1, 1);
        w.value()[0] = 0.5f;
        AdamW adam = new AdamW(0.9, 0.95, 1e-8, 0.1);
        // step 1: m̂ = 0.2, v̂ = 0.04, update 1: 0.5·(1 − 0.01·0.1) − 0.01 = 0.4895
        w.grad()[0] = 0.2f;
        adam.step(w, 0.01);
        assertEquals(0.4895f, w.value()[0], 1e-7f);
        // step 2: m = 0.008, v = 0.0024; m̂ = 0.008/0.19, v̂ = 0.0024/0.0975; 0.4895·0.999 − 0.01·0.268373 = 0.486327
        w.grad()[0] = -0.1f;
        adam.step(w, 0.01);
        assertEquals(0.008f, adam.stateOf(w).first()[0], 1e-8f);
        assertEquals(0.0024f, adam.stateOf(w).second()[0], 1e-9f);
        assertEquals(0.4863268f, w.value()[0], 1e-7f);
    }

    @Test
    void loadBalancerNudgesTowardEvenLoad() {
        float[] bias = {0.5f, 0f, -0.25f, 0f};
        long[] load = {9, 1, 3, 3};          // mean 4: the first is overloaded, the others under
        new LoadBalancer(0.001).step(bias, load);
        assertArrayEquals(new float[] {0.499f, 0.001f, -0.249f, 0.001f}, bias, 1e-7f);
        assertArrayEquals(new long[4], load, "the load starts again");
        long[] even = {2, 2, 2, 2};
        new LoadBalancer(0.001).step(bias, even);
        assertArrayEquals(new float[] {0.499f, 0.001f, -0.249f, 0.001f}, bias, 0f, "an even load leaves the bias");
    }
}
