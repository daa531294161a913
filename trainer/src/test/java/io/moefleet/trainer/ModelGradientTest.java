package io.moefleet.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.forward.Routing;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * MLA attention, the mixture of experts (router included) and the whole model against central differences of the
 * double-precision {@link Reference}, on two configurations: {@link TestModels#small} (q LoRA, YaRN, adjacent-pair RoPE,
 * five experts top-2 normalised, one shared) and {@link TestModels#alternative} (q_proj, plain RoPE in halves, six
 * experts in three groups of which two kept, top-3 unnormalised, two shared). Inputs are drawn until no routing
 * decision is within 1e-3 of flipping (the differences move scores by about 1e-6) and the correction bias changes
 * at least one token's choice, so the selection-by-bias path is exercised.
 */
class ModelGradientTest {

    private static final Workers WORKERS = new Workers(2);
    private static final float MARGIN = 1e-3f;

    @AfterAll
    static void close() {
        WORKERS.close();
    }

    static Stream<Arguments> configs() {
        return Stream.of(Arguments.of("small", TestModels.small()), Arguments.of("alternative", TestModels.alternative()));
    }

    /** Checks every parameter whose name starts with {@code prefix}; returns how many had a non-zero gradient. */
    private static int checkParameters(TrainingModel model, Map<String, double[]> p, String prefix, DoubleSupplier f) {
        int nonZero = 0;
        for (Parameter q : model.parameters()) {
            if (!q.name().startsWith(prefix)) {
                continue;
            }
            if (q.kind() == Parameter.Kind.BIAS) {
                assertArrayEquals(new float[q.grad().length], q.grad(), "the correction bias takes no gradient");
                continue;
            }
            if (GradientCheck.check(q.name(), q.grad(), GradientCheck.numeric(p.get(q.name()), f)) > 0) {
                nonZero++;
            }
        }
        return nonZero;
    }

    private static void assertClose(double[][] expected, float[][] actual, double tolerance, String what) {
        for (int t = 0; t < expected.length; t++) {
            for (int i = 0; i < expected[t].length; i++) {
                assertEquals(expected[t][i], actual[t][i], tolerance * Math.max(1, Math.abs(expected[t][i])), what + " [" + t + "][" + i + "]");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void attention(String name, ObjectNode node) {
        ModelConfig c = TestModels.config(node);
        TrainingModel model = TestModels.model(c, WORKERS, 21);
        MlaBlock attention = model.attentionBlocks().get(0);
        SplittableRandom random = new SplittableRandom(22);
        int[] lengths = {5, 3};
        SequenceRows seqs = SequenceRows.of(new int[][] {new int[5], new int[3]});
        float[][] x = TestModels.gaussian(random, 8, c.hiddenSize());
        float[][] r = TestModels.gaussian(random, 8, c.hiddenSize());
        float[][] y = new float[8][c.hiddenSize()];
        float[][] dx = new float[8][c.hiddenSize()];
        attention.forward(x, seqs, y);
        attention.backward(x, seqs, r, dx);

        Map<String, double[]> p = TestModels.widen(model);
        Reference ref = new Reference(c, p);
        double[][] xd = TestModels.widen(x, 8);
        assertClose(ref.attention(0, xd, lengths), y, 1e-5, "attention output");
        for (int h = 0; h < c.numAttentionHeads(); h++) {
            assertEquals(ref.maxLogits[0][h], attention.maxLogits()[h], 1e-5 * Math.abs(ref.maxLogits[0][h]), "max logit of head " + h);
        }
        DoubleSupplier f = () -> GradientCheck.objective(ref.attention(0, xd, lengths), r);
        int checked = checkParameters(model, p, "model.layers.0.self_attn.", f);
        assertEquals(c.hasQLora() ? 7 : 5, checked, "every attention weight has a gradient");
        GradientCheck.check("attention input", GradientCheck.flat(dx, 8, c.hiddenSize()), GradientCheck.numeric(xd, f));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void mixtureOfExperts(String name, ObjectNode node) {
        ModelConfig c = TestModels.config(node);
        TrainingModel model = TestModels.model(c, WORKERS, 31);
        MoeBlock moe = model.moeBlocks().getFirst();
        Map<String, double[]> p = TestModels.widen(model);
        Reference ref = new Reference(c, p);
        String prefix = "model.layers.1.mlp.";
        int n = 9;
        float[][] y = new float[n][c.hiddenSize()];
        float[][] x = null;
        for (long seed = 0; seed < 50 && x == null; seed++) {
            float[][] candidate = TestModels.gaussian(new SplittableRandom(seed), n, c.hiddenSize());
            moe.forward(candidate, n, y);
            if (clear(moe.routings(), n) && biasDecides(ref, prefix, c, TestModels.widen(candidate, n))) {
                x = candidate;
            }
        }
        assertTrue(x != null, "no input clear of routing knife edges in 50 draws");
        java.util.Arrays.fill(moe.load, 0);
        moe.forward(x, n, y);
        double[][] xd = TestModels.widen(x, n);
        for (int t = 0; t < n; t++) {
            assertArrayEquals(ref.chosen(prefix, xd[t]), moe.routings()[t].experts(), "token " + t + "'s experts");
        }
        assertEquals((long) n * c.numExpertsPerTok(), java.util.Arrays.stream(moe.load).sum(), "load counts every choice");
        float[][] r = TestModels.gaussian(new SplittableRandom(99), n, c.hiddenSize());
        float[][] dx = new float[n][c.hiddenSize()];
        moe.backward(x, r, n, dx);

        double[][] expected = new double[n][];
        for (int t = 0; t < n; t++) {
            expected[t] = ref.moe(prefix, xd[t]);
        }
        assertClose(expected, y, 1e-5, "moe output");
        DoubleSupplier f = () -> {
            double[][] out = new double[n][];
            for (int t = 0; t < n; t++) {
                out[t] = ref.moe(prefix, xd[t]);
            }
            return GradientCheck.objective(out, r);
        };
        int checked = checkParameters(model, p, prefix, f);
        assertTrue(checked >= 1 + 3 + 3 * 2, "the router, the shared experts and at least two experts have gradients: " + checked);
        GradientCheck.check("moe input", GradientCheck.flat(dx, n, c.hiddenSize()), GradientCheck.numeric(xd, f));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void wholeModel(String name, ObjectNode node) {
        ModelConfig c = TestModels.config(node);
        TrainingModel model = TestModels.model(c, WORKERS, 41);
        Batch batch = null;
        for (long seed = 0; seed < 50 && batch == null; seed++) {
            SplittableRandom random = new SplittableRandom(seed);
            int[][] windows = {random.ints(7, 0, c.vocabSize()).toArray(), random.ints(5, 0, c.vocabSize()).toArray()};
            Batch candidate = Batch.nextToken(windows);
            model.forward(candidate);
            int n = SequenceRows.of(candidate.inputs()).total();
            if (model.moeBlocks().stream().allMatch(m -> clear(m.routings(), n))) {
                batch = candidate;
            }
        }
        assertTrue(batch != null, "no batch clear of routing knife edges in 50 draws");
        batch.targets()[1][2] = -1;                     // an unscored position
        model.zeroGrad();
        double loss = model.lossAndGradient(batch);

        Map<String, double[]> p = TestModels.widen(model);
        Reference ref = new Reference(c, p);
        Batch checked = batch;
        DoubleSupplier f = () -> ref.loss(checked);
        assertEquals(f.getAsDouble(), loss, 1e-5 * loss, "the float32 loss is the reference's");
        int nonZero = checkParameters(model, p, "", f);
        long tensors = model.parameters().stream().filter(q -> q.kind() != Parameter.Kind.BIAS).count();
        assertTrue(nonZero >= tensors - 3L * c.nRoutedExperts(), nonZero + " of " + tensors + " tensors have gradients");
    }

    private static boolean clear(Routing[] routings, int n) {
        for (int t = 0; t < n; t++) {
            if (routings[t].expertMargin() < MARGIN || routings[t].groupMargin() < MARGIN) {
                return false;
            }
        }
        return true;
    }

    /** Whether the bias changes some token's experts: selection by unbiased scores alone would differ. */
    private static boolean biasDecides(Reference ref, String prefix, ModelConfig c, double[][] x) {
        for (double[] row : x) {
            double[] logits = ref.linear(prefix + "gate.weight", row);
            int[] unbiased = Reference.top(logits, c.numExpertsPerTok());     // sigmoid is monotone
            int[] chosen = ref.chosen(prefix, row);
            java.util.Arrays.sort(unbiased);
            java.util.Arrays.sort(chosen);
            if (!java.util.Arrays.equals(unbiased, chosen)) {
                return true;
            }
        }
        return false;
    }
}
