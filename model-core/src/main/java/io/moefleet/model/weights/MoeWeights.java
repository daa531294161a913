package io.moefleet.model.weights;

/** A mixture-of-experts layer: the router (gate), its selection bias, the routed experts and the optional shared experts. */
public record MoeWeights(Linear router, float[] correctionBias, MlpWeights[] experts, MlpWeights shared) {}
