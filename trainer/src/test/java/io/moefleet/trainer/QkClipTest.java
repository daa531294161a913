package io.moefleet.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.Workers;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * QK-Clip on MLA: with tau below some heads' max logit and above the others', every head above is clipped; in the
 * first layer (whose inputs the clip does not change) the clipped heads' max logit on the same batch becomes tau and
 * the other heads' do not move (bitwise); and the shared rotary key (kv_a_proj_with_mqa,
 * all of it) and the values (kv_b's v rows) stay bit-identical. With q LoRA (q_b_proj) and with plain q_proj.
 */
class QkClipTest {

    private static final Workers WORKERS = new Workers(2);

    @AfterAll
    static void close() {
        WORKERS.close();
    }

    static Stream<Arguments> configs() {
        return Stream.of(Arguments.of("small", TestModels.small()), Arguments.of("alternative", TestModels.alternative()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("configs")
    void clipsHeadsAboveTauToTauAndLeavesTheSharedKey(String name, ObjectNode node) {
        ModelConfig c = TestModels.config(node);
        TrainingModel model = TestModels.model(c, WORKERS, 5);
        SplittableRandom random = new SplittableRandom(6);
        int[][] windows = {random.ints(9, 0, c.vocabSize()).toArray(), random.ints(6, 0, c.vocabSize()).toArray()};
        Batch batch = Batch.nextToken(windows);
        model.forward(batch);
        float[][] before = model.maxLogits();
        // tau between the largest and the smallest head maximum of layer 0: at least one head clipped, one not
        float[] layer0 = before[0].clone();
        java.util.Arrays.sort(layer0);
        double tau = (layer0[0] + layer0[layer0.length - 1]) / 2;
        float[] kvA = model.parameter("model.layers.0.self_attn.kv_a_proj_with_mqa.weight").value().clone();
        Parameter kvB = model.parameter("model.layers.0.self_attn.kv_b_proj.weight");
        float[] kvBBefore = kvB.value().clone();

        int clipped = new QkClip(c, tau).apply(model, before);
        model.forward(batch);
        float[][] after = model.maxLogits();

        int expected = 0;
        for (float[] layer : before) {
            for (float m : layer) {
                expected += m > tau ? 1 : 0;
            }
        }
        assertEquals(expected, clipped);
        assertTrue(clipped > 0 && clipped < c.numHiddenLayers() * c.numAttentionHeads(), "some heads clipped, not all");
        // layer 0 sees the same inputs after the clip (later layers' inputs change with it)
        for (int h = 0; h < c.numAttentionHeads(); h++) {
            if (before[0][h] > tau) {
                assertEquals(tau, after[0][h], 2e-5 * tau, "head " + h + " clipped to tau");
            } else {
                assertEquals(before[0][h], after[0][h], 0f, "head " + h + " (below tau) untouched");
            }
        }
        assertArrayEquals(kvA, model.parameter("model.layers.0.self_attn.kv_a_proj_with_mqa.weight").value(),
                "the shared rotary key (and the latent) untouched");
        int stride = c.qkNopeHeadDim() + c.vHeadDim();
        for (int h = 0; h < c.numAttentionHeads(); h++) {
            for (int r = h * stride + c.qkNopeHeadDim(); r < (h + 1) * stride; r++) {
                for (int col = 0; col < kvB.cols(); col++) {
                    assertEquals(kvBBefore[r * kvB.cols() + col], kvB.value()[r * kvB.cols() + col], 0f, "kv_b's value rows untouched");
                }
            }
        }
    }
}
