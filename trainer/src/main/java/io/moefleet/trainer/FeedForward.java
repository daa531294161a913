package io.moefleet.trainer;

import io.moefleet.model.compute.VectorMath;
import java.util.Arrays;

/**
 * A SwiGLU block {@code down(silu(gate x) * up x)}: the dense MLP, a routed expert or the shared experts. The caller
 * owns the activations kept for the backward pass (a layer's experts share one pool of rows), and the scratch rows.
 */
final class FeedForward {

    /** Rows kept from the forward pass for the backward one: gate x, up x and silu(gate x) * up x. */
    record Activations(float[][] gate, float[][] up, float[][] hidden) {
        static Activations of(int rows, int width) {
            return new Activations(new float[rows][width], new float[rows][width], new float[rows][width]);
        }

        /** Rows {@code [from, to)} (the same row arrays, not copies). */
        Activations slice(int from, int to) {
            return new Activations(Arrays.copyOfRange(gate, from, to), Arrays.copyOfRange(up, from, to),
                    Arrays.copyOfRange(hidden, from, to));
        }
    }

    final Projection gate;
    final Projection up;
    final Projection down;

    FeedForward(Projection gate, Projection up, Projection down) {
        this.gate = gate;
        this.up = up;
        this.down = down;
    }

    int width() {
        return gate.rows();
    }

    void forward(float[][] x, int n, Activations a, float[][] y) {
        gate.forward(x, n, a.gate());
        up.forward(x, n, a.up());
        int width = width();
        for (int t = 0; t < n; t++) {
            float[] g = a.gate()[t];
            float[] u = a.up()[t];
            float[] h = a.hidden()[t];
            System.arraycopy(u, 0, h, 0, width);
            VectorMath.siluTimes(g, 0, h, 0, width);   // model-core SwiGlu's arithmetic; u is kept for the backward pass
        }
        down.forward(a.hidden(), n, y);
    }

    /**
     * Adds to the weights' gradients and to {@code dx}; {@code scratch} holds at least {@code n} rows of {@link #width}
     * (overwritten). With {@code σ = sigmoid(g)}: {@code silu'(g) = σ (1 + g (1 − σ))}.
     */
    void backward(float[][] x, Activations a, float[][] dy, int n, float[][] dx, Activations scratch) {
        int width = width();
        float[][] dHidden = scratch.hidden();
        for (int t = 0; t < n; t++) {
            Arrays.fill(dHidden[t], 0, width, 0f);
        }
        down.backward(a.hidden(), dy, n, dHidden);
        float[][] dGate = scratch.gate();
        float[][] dUp = scratch.up();
        for (int t = 0; t < n; t++) {
            float[] g = a.gate()[t];
            float[] u = a.up()[t];
            for (int k = 0; k < width; k++) {
                double sigma = 1.0 / (1.0 + Math.exp(-g[k]));
                double silu = g[k] * sigma;
                dGate[t][k] = (float) (dHidden[t][k] * u[k] * sigma * (1 + g[k] * (1 - sigma)));
                dUp[t][k] = (float) (dHidden[t][k] * silu);
            }
        }
        gate.backward(x, dGate, n, dx);
        up.backward(x, dUp, n, dx);
    }
}
