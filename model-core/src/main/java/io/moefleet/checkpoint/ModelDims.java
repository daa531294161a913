package io.moefleet.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;

/** The config.json values that decide which tensors a DeepseekV3 checkpoint holds and their shapes. */
record ModelDims(
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int moeIntermediateSize,
        int numHiddenLayers,
        int firstKDenseReplace,
        int moeLayerFreq,
        int nRoutedExperts,
        int nSharedExperts,
        int numAttentionHeads,
        Integer qLoraRank,
        int kvLoraRank,
        int qkNopeHeadDim,
        int qkRopeHeadDim,
        int vHeadDim,
        int maxPositionEmbeddings) {

    static ModelDims of(JsonNode config) {
        ModelDims dims = new ModelDims(
                positive(config, "vocab_size"),
                positive(config, "hidden_size"),
                positive(config, "intermediate_size"),
                positive(config, "moe_intermediate_size"),
                positive(config, "num_hidden_layers"),
                atLeastZero(config, "first_k_dense_replace"),
                positive(config, "moe_layer_freq"),
                atLeastZero(config, "n_routed_experts"),
                atLeastZero(config, "n_shared_experts"),
                positive(config, "num_attention_heads"),
                config.path("q_lora_rank").isNull() || config.path("q_lora_rank").isMissingNode()
                        ? null : positive(config, "q_lora_rank"),
                positive(config, "kv_lora_rank"),
                positive(config, "qk_nope_head_dim"),
                positive(config, "qk_rope_head_dim"),
                positive(config, "v_head_dim"),
                positive(config, "max_position_embeddings"));
        if (dims.qkRopeHeadDim % 2 != 0) {
            throw new IllegalArgumentException("qk_rope_head_dim must be even (RoPE rotates pairs), got " + dims.qkRopeHeadDim);
        }
        return dims;
    }

    /** HF DeepseekV3: a layer is MoE iff it is past the dense prefix and on the MoE stride. */
    boolean isMoeLayer(int layer) {
        return nRoutedExperts > 0 && layer >= firstKDenseReplace && layer % moeLayerFreq == 0;
    }

    int qHeadDim() {
        return qkNopeHeadDim + qkRopeHeadDim;
    }

    private static int positive(JsonNode config, String key) {
        int value = atLeastZero(config, key);
        if (value == 0) {
            throw new IllegalArgumentException("config.json: " + key + " must be positive");
        }
        return value;
    }

    private static int atLeastZero(JsonNode config, String key) {
        JsonNode node = config.get(key);
        if (node == null || !node.canConvertToExactIntegral() || !node.canConvertToInt() || node.asInt() < 0) {
            throw new IllegalArgumentException("config.json: " + key + " must be a non-negative integer, got " + node);
        }
        return node.asInt();
    }
}
