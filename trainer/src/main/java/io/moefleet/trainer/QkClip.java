package io.moefleet.trainer;

import io.moefleet.model.ModelConfig;
import java.util.List;

/**
 * QK-Clip on MLA (Kimi K2 report, Algorithm 1), after each optimiser step: for every head whose largest scaled
 * attention logit in the step's forward passes exceeded {@code tau}, {@code γ = tau / S_max}; the head's
 * no-rope query rows (of q_b_proj, or q_proj) and its no-rope key rows of kv_b_proj are scaled by {@code sqrt(γ)},
 * its rope query rows by {@code γ}. The shared rotary key (the rope rows of kv_a_proj_with_mqa) is left alone: it
 * belongs to every head. Every logit of the head scales by {@code γ}, so its maximum on the same batch becomes tau.
 */
public final class QkClip {

    private final double tau;
    private final int nope;
    private final int qkDim;
    private final int kvbStride;

    public QkClip(ModelConfig c, double tau) {
        this.tau = tau;
        this.nope = c.qkNopeHeadDim();
        this.qkDim = c.qkHeadDim();
        this.kvbStride = c.qkNopeHeadDim() + c.vHeadDim();
    }

    /** Clips every layer's heads by {@code maxLogits[layer][head]}; returns how many heads were clipped. */
    public int apply(TrainingModel model, float[][] maxLogits) {
        List<MlaBlock> blocks = model.attentionBlocks();
        int clipped = 0;
        for (int layer = 0; layer < blocks.size(); layer++) {
            MlaBlock a = blocks.get(layer);
            for (int h = 0; h < maxLogits[layer].length; h++) {
                if (maxLogits[layer][h] > tau) {
                    double gamma = tau / maxLogits[layer][h];
                    double root = Math.sqrt(gamma);
                    scaleRows(a.qB.weight, h * qkDim, h * qkDim + nope, root);
                    scaleRows(a.qB.weight, h * qkDim + nope, (h + 1) * qkDim, gamma);
                    scaleRows(a.kvB.weight, h * kvbStride, h * kvbStride + nope, root);
                    clipped++;
                }
            }
        }
        return clipped;
    }

    private static void scaleRows(Parameter p, int from, int to, double factor) {
        float[] w = p.value();
        for (int i = from * p.cols(); i < to * p.cols(); i++) {
            w[i] = (float) (w[i] * factor);
        }
    }
}
