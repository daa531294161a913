package io.moefleet.engine;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.weights.LayerWeights;
import io.moefleet.model.weights.MlpWeights;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.model.weights.MoeWeights;

/**
 * Every weight byte one decode token reads at batch 1: its embedding row, each layer's attention and norms, the dense
 * MLP or the router with its bias, top-k routed experts (at their average size) and the shared experts, the final
 * norm and lm_head. Divided into the measured bandwidth, it is decode's roofline.
 */
public final class ActiveBytes {

    private ActiveBytes() {}

    public static long perToken(ModelConfig c, ModelWeights w) {
        double bytes = (double) w.embedding().storageBytes() / c.vocabSize();
        for (LayerWeights layer : w.layers()) {
            bytes += layer.attention().storageBytes() + 4L * (layer.inputNorm().length + layer.postAttentionNorm().length);
            if (layer.denseMlp() != null) {
                bytes += layer.denseMlp().storageBytes();
            } else {
                MoeWeights moe = layer.moe();
                bytes += moe.router().storageBytes() + 4L * moe.correctionBias().length;
                long experts = 0;
                for (MlpWeights e : moe.experts()) {
                    experts += e.storageBytes();
                }
                bytes += (double) experts / moe.experts().length * c.numExpertsPerTok();
                if (moe.shared() != null) {
                    bytes += moe.shared().storageBytes();
                }
            }
        }
        bytes += 4L * w.finalNorm().length + w.lmHead().storageBytes();
        return Math.round(bytes);
    }
}
