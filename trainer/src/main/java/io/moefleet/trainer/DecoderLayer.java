package io.moefleet.trainer;

import io.moefleet.model.compute.VectorMath;
import java.util.Arrays;

/**
 * One pre-norm decoder layer: {@code h += attn(norm1 h)}, then {@code h += ffn(norm2 h)} with a dense SwiGLU or a
 * mixture of experts. Keeps the residual stream at both norms for the backward pass.
 */
final class DecoderLayer {

    final Norm inputNorm;
    final MlaBlock attention;
    final Norm postAttentionNorm;
    final FeedForward dense;     // exactly one of dense and moe
    final MoeBlock moe;

    private int rows;
    private float[][] before;          // h entering the layer
    private float[][] middle;          // h after attention
    private float[][] normed;
    private float[][] delta;
    private FeedForward.Activations denseActivations;
    private FeedForward.Activations denseScratch;
    private float[][] dNormed;

    DecoderLayer(Norm inputNorm, MlaBlock attention, Norm postAttentionNorm, FeedForward dense, MoeBlock moe) {
        this.inputNorm = inputNorm;
        this.attention = attention;
        this.postAttentionNorm = postAttentionNorm;
        this.dense = dense;
        this.moe = moe;
    }

    /** Updates {@code h} in place. */
    void forward(float[][] h, SequenceRows seqs) {
        int n = seqs.total();
        grow(n, h[0].length);
        copy(h, before, n);
        inputNorm.forward(h, n, normed);
        attention.forward(normed, seqs, delta);
        add(delta, h, n);
        copy(h, middle, n);
        postAttentionNorm.forward(h, n, normed);
        if (dense != null) {
            dense.forward(normed, n, denseActivations, delta);
        } else {
            moe.forward(normed, n, delta);
        }
        add(delta, h, n);
    }

    /** Turns {@code dh}, the gradient at the layer's output, into the gradient at its input (in place). */
    void backward(float[][] dh, SequenceRows seqs) {
        int n = seqs.total();
        // the feed-forward half: its input is norm2(middle)
        postAttentionNorm.forward(middle, n, normed);
        clear(dNormed, n);
        if (dense != null) {
            dense.backward(normed, denseActivations, dh, n, dNormed, denseScratch);
        } else {
            moe.backward(normed, dh, n, dNormed);
        }
        postAttentionNorm.backward(middle, dNormed, n, dh);
        // the attention half
        inputNorm.forward(before, n, normed);
        clear(dNormed, n);
        attention.backward(normed, seqs, dh, dNormed);
        inputNorm.backward(before, dNormed, n, dh);
    }

    private static void copy(float[][] from, float[][] to, int n) {
        for (int r = 0; r < n; r++) {
            System.arraycopy(from[r], 0, to[r], 0, from[r].length);
        }
    }

    /** {@code h += d}: fma(1, d, h) rounds once, so this is the engine's residual add bit for bit. */
    private static void add(float[][] d, float[][] h, int n) {
        for (int r = 0; r < n; r++) {
            VectorMath.axpy(1f, d[r], 0, h[r], 0, h[r].length);
        }
    }

    private static void clear(float[][] rows, int n) {
        for (int r = 0; r < n; r++) {
            Arrays.fill(rows[r], 0f);
        }
    }

    private void grow(int n, int hidden) {
        if (n <= rows) {
            return;
        }
        rows = n;
        before = new float[n][hidden];
        middle = new float[n][hidden];
        normed = new float[n][hidden];
        delta = new float[n][hidden];
        dNormed = new float[n][hidden];
        if (dense != null) {
            denseActivations = FeedForward.Activations.of(n, dense.width());
            denseScratch = FeedForward.Activations.of(n, dense.width());
        }
    }
}
