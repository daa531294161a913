package io.moefleet.model.weights;

/** One decoder layer; exactly one of {@code denseMlp} and {@code moe} is set. */
public record LayerWeights(
        float[] inputNorm, AttentionWeights attention, float[] postAttentionNorm, MlpWeights denseMlp, MoeWeights moe) {}
