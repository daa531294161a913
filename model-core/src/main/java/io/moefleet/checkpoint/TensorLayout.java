package io.moefleet.checkpoint;

import java.util.ArrayList;
import java.util.List;

/** The weights of a DeepseekV3ForCausalLM checkpoint, named and shaped as Hugging Face stores them, in file order. */
final class TensorLayout {
    private TensorLayout() {
    }

    static List<TensorSpec> of(ModelDims d) {
        List<TensorSpec> specs = new ArrayList<>();
        specs.add(new TensorSpec("model.embed_tokens.weight", new long[] {d.vocabSize(), d.hiddenSize()},
                TensorRole.EMBEDDING, 0, 1));
        for (int layer = 0; layer < d.numHiddenLayers(); layer++) {
            String p = "model.layers." + layer + ".";
            specs.add(TensorSpec.norm(p + "input_layernorm.weight", d.hiddenSize()));
            addAttention(specs, p + "self_attn.", d);
            specs.add(TensorSpec.norm(p + "post_attention_layernorm.weight", d.hiddenSize()));
            if (d.isMoeLayer(layer)) {
                addMoe(specs, p + "mlp.", d);
            } else {
                addMlp(specs, p + "mlp.", d.intermediateSize(), d.hiddenSize(), TensorRole.PROJECTION);
            }
        }
        specs.add(TensorSpec.norm("model.norm.weight", d.hiddenSize()));
        specs.add(TensorSpec.linear("lm_head.weight", d.vocabSize(), d.hiddenSize(), TensorRole.LM_HEAD));
        return specs;
    }

    private static void addAttention(List<TensorSpec> specs, String p, ModelDims d) {
        long qOut = (long) d.numAttentionHeads() * d.qHeadDim();
        if (d.qLoraRank() != null) {
            specs.add(TensorSpec.linear(p + "q_a_proj.weight", d.qLoraRank(), d.hiddenSize(), TensorRole.PROJECTION));
            specs.add(TensorSpec.norm(p + "q_a_layernorm.weight", d.qLoraRank()));
            specs.add(TensorSpec.linear(p + "q_b_proj.weight", qOut, d.qLoraRank(), TensorRole.PROJECTION));
        } else {
            specs.add(TensorSpec.linear(p + "q_proj.weight", qOut, d.hiddenSize(), TensorRole.PROJECTION));
        }
        specs.add(TensorSpec.linear(p + "kv_a_proj_with_mqa.weight",
                d.kvLoraRank() + d.qkRopeHeadDim(), d.hiddenSize(), TensorRole.PROJECTION));
        specs.add(TensorSpec.norm(p + "kv_a_layernorm.weight", d.kvLoraRank()));
        specs.add(TensorSpec.linear(p + "kv_b_proj.weight",
                (long) d.numAttentionHeads() * (d.qkNopeHeadDim() + d.vHeadDim()), d.kvLoraRank(), TensorRole.PROJECTION));
        specs.add(TensorSpec.linear(p + "o_proj.weight",
                d.hiddenSize(), (long) d.numAttentionHeads() * d.vHeadDim(), TensorRole.PROJECTION));
    }

    private static void addMoe(List<TensorSpec> specs, String p, ModelDims d) {
        specs.add(TensorSpec.linear(p + "gate.weight", d.nRoutedExperts(), d.hiddenSize(), TensorRole.ROUTER));
        specs.add(new TensorSpec(p + "gate.e_score_correction_bias", new long[] {d.nRoutedExperts()},
                TensorRole.ROUTER_BIAS, 0, 0.05));
        for (int expert = 0; expert < d.nRoutedExperts(); expert++) {
            addMlp(specs, p + "experts." + expert + ".", d.moeIntermediateSize(), d.hiddenSize(), TensorRole.EXPERT_PROJECTION);
        }
        if (d.nSharedExperts() > 0) {
            addMlp(specs, p + "shared_experts.", (long) d.moeIntermediateSize() * d.nSharedExperts(), d.hiddenSize(),
                    TensorRole.PROJECTION);
        }
    }

    /** A SwiGLU block: gate and up {@code [inner, hidden]}, down {@code [hidden, inner]}. */
    private static void addMlp(List<TensorSpec> specs, String p, long inner, long hidden, TensorRole role) {
        specs.add(TensorSpec.linear(p + "gate_proj.weight", inner, hidden, role));
        specs.add(TensorSpec.linear(p + "up_proj.weight", inner, hidden, role));
        specs.add(TensorSpec.linear(p + "down_proj.weight", hidden, inner, role));
    }
}
