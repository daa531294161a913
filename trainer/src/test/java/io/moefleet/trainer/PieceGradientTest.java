package io.moefleet.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.Workers;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Each backward piece against central differences of the double-precision {@link Reference}: the objective is
 * {@code Σ R ∘ y} for a fixed random R, so the analytic gradients are the piece's backward from {@code dy = R}.
 * Every parameter and the input are checked, all entries.
 */
class PieceGradientTest {

    private static final Workers WORKERS = new Workers(2);
    private static final MatMul MAT_MUL = new MatMul(WORKERS);
    private static final ModelConfig CONFIG = TestModels.config(TestModels.small());

    @AfterAll
    static void close() {
        WORKERS.close();
    }

    private static Parameter parameter(String name, Parameter.Kind kind, int rows, int cols, SplittableRandom random, double mean, double std) {
        Parameter p = new Parameter(name, kind, rows, cols);
        for (int i = 0; i < p.value().length; i++) {
            p.value()[i] = (float) (mean + std * random.nextGaussian());
        }
        return p;
    }

    @Test
    void rmsNorm() {
        SplittableRandom random = new SplittableRandom(1);
        Parameter w = parameter("w", Parameter.Kind.NORM, 1, 7, random, 1, 0.3);
        Norm norm = new Norm(w, 1e-6);
        float[][] x = TestModels.gaussian(random, 3, 7);
        float[][] r = TestModels.gaussian(random, 3, 7);
        float[][] y = new float[3][7];
        float[][] dx = new float[3][7];
        norm.forward(x, 3, y);
        norm.backward(x, r, 3, dx);

        Map<String, double[]> p = Map.of("w", TestModels.widen(w.value()));
        double[][] xd = TestModels.widen(x, 3);
        Reference ref = new Reference(CONFIG, p);
        java.util.function.DoubleSupplier f = () -> {
            double[][] out = new double[3][];
            for (int t = 0; t < 3; t++) {
                out[t] = ref.norm(xd[t], "w", 1e-6);
            }
            return GradientCheck.objective(out, r);
        };
        GradientCheck.check("rmsnorm weight", w.grad(), GradientCheck.numeric(p.get("w"), f));
        GradientCheck.check("rmsnorm input", GradientCheck.flat(dx, 3, 7), GradientCheck.numeric(xd, f));
    }

    @Test
    void projection() {
        SplittableRandom random = new SplittableRandom(2);
        Parameter w = parameter("w", Parameter.Kind.MATRIX, 5, 7, random, 0, 0.4);
        Projection projection = new Projection(w, MAT_MUL);
        float[][] x = TestModels.gaussian(random, 4, 7);
        float[][] r = TestModels.gaussian(random, 4, 5);
        float[][] y = new float[4][5];
        float[][] dx = new float[4][7];
        projection.forward(x, 4, y);
        projection.backward(x, r, 4, dx);

        Map<String, double[]> p = Map.of("w", TestModels.widen(w.value()));
        double[][] xd = TestModels.widen(x, 4);
        Reference ref = new Reference(CONFIG, p);
        java.util.function.DoubleSupplier f = () -> {
            double[][] out = new double[4][];
            for (int t = 0; t < 4; t++) {
                out[t] = ref.linear("w", xd[t]);
            }
            return GradientCheck.objective(out, r);
        };
        GradientCheck.check("projection weight", w.grad(), GradientCheck.numeric(p.get("w"), f));
        GradientCheck.check("projection input", GradientCheck.flat(dx, 4, 7), GradientCheck.numeric(xd, f));
    }

    @Test
    void embedding() {
        SplittableRandom random = new SplittableRandom(3);
        Parameter table = parameter("t", Parameter.Kind.EMBEDDING, 6, 4, random, 0, 1);
        Embedding embedding = new Embedding(table);
        int[] tokens = {1, 3, 1, 5};
        float[][] h = new float[4][4];
        float[][] r = TestModels.gaussian(random, 4, 4);
        embedding.forward(tokens, h);
        embedding.backward(tokens, r);
        double[] t = TestModels.widen(table.value());
        java.util.function.DoubleSupplier f = () -> {
            double[][] out = new double[4][];
            for (int i = 0; i < 4; i++) {
                out[i] = java.util.Arrays.copyOfRange(t, tokens[i] * 4, tokens[i] * 4 + 4);
            }
            return GradientCheck.objective(out, r);
        };
        GradientCheck.check("embedding", table.grad(), GradientCheck.numeric(t, f));
    }

    @Test
    void swiGlu() {
        SplittableRandom random = new SplittableRandom(4);
        Parameter gate = parameter("m.gate_proj.weight", Parameter.Kind.MATRIX, 9, 7, random, 0, 0.5);
        Parameter up = parameter("m.up_proj.weight", Parameter.Kind.MATRIX, 9, 7, random, 0, 0.5);
        Parameter down = parameter("m.down_proj.weight", Parameter.Kind.MATRIX, 7, 9, random, 0, 0.5);
        FeedForward ff = new FeedForward(new Projection(gate, MAT_MUL), new Projection(up, MAT_MUL), new Projection(down, MAT_MUL));
        float[][] x = TestModels.gaussian(random, 3, 7);
        float[][] r = TestModels.gaussian(random, 3, 7);
        float[][] y = new float[3][7];
        float[][] dx = new float[3][7];
        FeedForward.Activations kept = FeedForward.Activations.of(3, 9);
        ff.forward(x, 3, kept, y);
        ff.backward(x, kept, r, 3, dx, FeedForward.Activations.of(3, 9));

        Map<String, double[]> p = Map.of(gate.name(), TestModels.widen(gate.value()), up.name(), TestModels.widen(up.value()),
                down.name(), TestModels.widen(down.value()));
        double[][] xd = TestModels.widen(x, 3);
        Reference ref = new Reference(CONFIG, p);
        java.util.function.DoubleSupplier f = () -> {
            double[][] out = new double[3][];
            for (int t = 0; t < 3; t++) {
                out[t] = ref.swiGlu("m.", xd[t]);
            }
            return GradientCheck.objective(out, r);
        };
        for (Parameter q : new Parameter[] {gate, up, down}) {
            GradientCheck.check(q.name(), q.grad(), GradientCheck.numeric(p.get(q.name()), f));
        }
        GradientCheck.check("swiglu input", GradientCheck.flat(dx, 3, 7), GradientCheck.numeric(xd, f));
    }

    @Test
    void crossEntropy() {
        SplittableRandom random = new SplittableRandom(5);
        float[][] logits = TestModels.gaussian(random, 3, 11);
        int[] targets = {2, -1, 10};
        float[][] d = new float[3][11];
        double loss = CrossEntropy.lossAndGradient(logits, targets, d);
        double[][] z = TestModels.widen(logits, 3);
        java.util.function.DoubleSupplier f = () -> (Reference.crossEntropy(z[0], 2) + Reference.crossEntropy(z[2], 10)) / 2;
        assertEquals(f.getAsDouble(), loss, 1e-6);
        GradientCheck.check("cross-entropy logits", GradientCheck.flat(d, 3, 11), GradientCheck.numeric(z, f));
        assertArrayEquals(new float[11], d[1], "an unscored row has no gradient");
    }
}
