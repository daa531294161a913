package io.moefleet.model.forward;

import io.moefleet.model.compute.MatMul;
import io.moefleet.model.weights.MlpWeights;

/** {@code down(silu(gate(x)) * up(x))} over a batch of tokens, with scratch grown to the widest block and batch it has served. */
final class SwiGlu {

    private final MatMul matMul;
    private float[][] gate = new float[0][];
    private float[][] up = new float[0][];

    SwiGlu(MatMul matMul) {
        this.matMul = matMul;
    }

    /** {@code outs[t] = block(xs[t])} for {@code t < n}. */
    void apply(MlpWeights w, float[][] xs, int n, float[][] outs) {
        int width = w.gate().rows();
        ensure(n, width);
        matMul.multiplyPair(w.gate(), gate, w.up(), up, xs, n);
        for (int t = 0; t < n; t++) {
            float[] g = gate[t];
            float[] u = up[t];
            for (int i = 0; i < width; i++) {
                g[i] = g[i] / (1f + (float) Math.exp(-g[i])) * u[i];
            }
        }
        matMul.multiply(w.down(), gate, n, outs);
    }

    private void ensure(int n, int width) {
        if (gate.length < n || (n > 0 && gate[0].length < width)) {
            int rows = Math.max(n, gate.length);
            int cols = Math.max(width, gate.length == 0 ? 0 : gate[0].length);
            gate = new float[rows][cols];
            up = new float[rows][cols];
        }
    }
}
