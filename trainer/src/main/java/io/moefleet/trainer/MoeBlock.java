package io.moefleet.trainer;

import io.moefleet.model.compute.VectorMath;
import io.moefleet.model.forward.Routing;
import java.util.Arrays;

/**
 * A mixture-of-experts feed-forward: {@code y = Σ_k w_k E_k(x) + shared(x)}. As model-core's local experts do, each
 * chosen expert runs once over all its tokens and a token's outputs are added in expert-index order, the shared
 * experts' after them, so the forward is the engine's bit for bit. Counts the tokens each expert took
 * ({@link #load}) for the {@link LoadBalancer}.
 */
final class MoeBlock {

    final Router router;
    final FeedForward[] experts;
    final FeedForward shared;
    final long[] load;
    private final int hidden;
    private final int topK;

    // per-step state, grown to the largest step seen
    private int rows;
    private float[][] logits = new float[0][];
    private Routing[] routings = new Routing[0];
    private int[][] tokensOf;        // per expert: its tokens, in token order
    private int[][] choiceOf;        // per expert: which of the token's choices it was
    private int[] firstRow;          // per expert: its first row in the pools
    private FeedForward.Activations pool;
    private float[][] expertOut = new float[0][];
    private FeedForward.Activations sharedActivations;
    private float[][] sharedOut;
    // backward scratch
    private float[][] dExpertOut = new float[0][];
    private float[][] dWeights;
    private float[][] dLogits;
    private FeedForward.Activations expertScratch;
    private FeedForward.Activations sharedScratch;

    MoeBlock(Router router, FeedForward[] experts, FeedForward shared, int hidden, int topK) {
        this.router = router;
        this.experts = experts;
        this.shared = shared;
        this.hidden = hidden;
        this.topK = topK;
        this.load = new long[experts.length];
        this.tokensOf = new int[experts.length][];
        this.choiceOf = new int[experts.length][];
        this.firstRow = new int[experts.length];
    }

    void forward(float[][] x, int n, float[][] y) {
        grow(n);
        router.forward(x, n, logits, routings);
        int[] counts = new int[experts.length];
        for (int t = 0; t < n; t++) {
            for (int e : routings[t].experts()) {
                counts[e]++;
            }
        }
        int row = 0;
        for (int e = 0; e < experts.length; e++) {
            tokensOf[e] = new int[counts[e]];
            choiceOf[e] = new int[counts[e]];
            firstRow[e] = row;
            row += counts[e];
            load[e] += counts[e];
        }
        int[] filled = new int[experts.length];
        for (int t = 0; t < n; t++) {
            int[] chosen = routings[t].experts();
            for (int k = 0; k < chosen.length; k++) {
                int e = chosen[k];
                tokensOf[e][filled[e]] = t;
                choiceOf[e][filled[e]++] = k;
            }
        }
        for (int t = 0; t < n; t++) {
            Arrays.fill(y[t], 0, hidden, 0f);
        }
        for (int e = 0; e < experts.length; e++) {
            int m = counts[e];
            if (m == 0) {
                continue;
            }
            int first = firstRow[e];
            float[][] out = Arrays.copyOfRange(expertOut, first, first + m);
            experts[e].forward(rowsOf(x, tokensOf[e]), m, pool.slice(first, first + m), out);
            for (int j = 0; j < m; j++) {
                int t = tokensOf[e][j];
                VectorMath.axpy(routings[t].weights()[choiceOf[e][j]], out[j], 0, y[t], 0, hidden);
            }
        }
        if (shared != null) {
            shared.forward(x, n, sharedActivations, sharedOut);
            for (int t = 0; t < n; t++) {
                VectorMath.axpy(1f, sharedOut[t], 0, y[t], 0, hidden);
            }
        }
    }

    /** Adds to every weight's gradient and to {@code dx}; the forward of the same rows must be the last one run. */
    void backward(float[][] x, float[][] dy, int n, float[][] dx) {
        for (int e = 0; e < experts.length; e++) {
            int m = tokensOf[e].length;
            if (m == 0) {
                continue;
            }
            int first = firstRow[e];
            for (int j = 0; j < m; j++) {
                int t = tokensOf[e][j];
                int k = choiceOf[e][j];
                float w = routings[t].weights()[k];
                float[] d = dExpertOut[first + j];
                for (int i = 0; i < hidden; i++) {
                    d[i] = w * dy[t][i];
                }
                dWeights[t][k] = VectorMath.dot(dy[t], 0, expertOut[first + j], 0, hidden);
            }
            experts[e].backward(rowsOf(x, tokensOf[e]), pool.slice(first, first + m),
                    Arrays.copyOfRange(dExpertOut, first, first + m), m, rowsOf(dx, tokensOf[e]), expertScratch);
        }
        if (shared != null) {
            shared.backward(x, sharedActivations, dy, n, dx, sharedScratch);
        }
        router.backward(x, logits, routings, dWeights, n, dx, dLogits);
    }

    /** Routings of the last forward, by token. */
    Routing[] routings() {
        return routings;
    }

    private static float[][] rowsOf(float[][] all, int[] tokens) {
        float[][] rows = new float[tokens.length][];
        for (int j = 0; j < tokens.length; j++) {
            rows[j] = all[tokens[j]];
        }
        return rows;
    }

    private void grow(int n) {
        if (n <= rows) {
            return;
        }
        rows = n;
        int width = experts[0].width();
        logits = new float[n][experts.length];
        routings = new Routing[n];
        pool = FeedForward.Activations.of(n * topK, width);
        expertOut = new float[n * topK][hidden];
        dExpertOut = new float[n * topK][hidden];
        dWeights = new float[n][topK];
        dLogits = new float[n][experts.length];
        expertScratch = FeedForward.Activations.of(n, width);
        if (shared != null) {
            sharedActivations = FeedForward.Activations.of(n, shared.width());
            sharedOut = new float[n][hidden];
            sharedScratch = FeedForward.Activations.of(n, shared.width());
        }
    }
}
