package io.moefleet.model.forward;

import io.moefleet.model.weights.MlpWeights;

/** {@code down(silu(gate(x)) * up(x))} with scratch sized for the widest block it serves. */
final class SwiGlu {

    private final float[] gate;
    private final float[] up;

    SwiGlu(int maxIntermediate) {
        this.gate = new float[maxIntermediate];
        this.up = new float[maxIntermediate];
    }

    void apply(MlpWeights w, float[] x, float[] out) {
        int n = w.gate().rows();
        w.gate().matvec(x, gate);
        w.up().matvec(x, up);
        for (int i = 0; i < n; i++) {
            float g = gate[i];
            gate[i] = g / (1f + (float) Math.exp(-g)) * up[i];
        }
        w.down().matvec(gate, out);
    }
}
