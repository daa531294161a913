package io.moefleet.model.weights;

/** A SwiGLU feed-forward block, {@code down(silu(gate(x)) * up(x))}: the dense MLP, one routed expert, or the shared experts. */
public record MlpWeights(Linear gate, Linear up, Linear down) {
    public long storageBytes() {
        return gate.storageBytes() + up.storageBytes() + down.storageBytes();
    }
}
