package io.moefleet.model.forward;

import io.moefleet.model.compute.MatMul;
import io.moefleet.model.weights.MlpWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Routed experts computed here: each chosen expert runs once over all its tokens (a layer's experts in two hand-offs to
 * the workers). An expert shard serves its part of a layer with the same code over the experts it holds
 * ({@link #expertOutputs}) and the router adds what the shards return with the same {@link #addWeighted}, so a token's
 * sum is bitwise the same wherever its experts ran and whatever its batch-mates.
 */
public final class LocalExperts implements ExpertBackend {

    private final IntFunction<MlpWeights[]> expertsOfLayer;
    private final int hidden;
    private final SwiGlu swiGlu;
    private float[][] outputs = new float[0][];

    /** @param expertsOfLayer a layer's routed experts by index; an expert this process does not hold is null */
    public LocalExperts(IntFunction<MlpWeights[]> expertsOfLayer, int hidden, MatMul matMul) {
        this.expertsOfLayer = expertsOfLayer;
        this.hidden = hidden;
        this.swiGlu = new SwiGlu(matMul);
    }

    /** Computes nothing until combined: the experts share this process's workers with the step's other products. */
    @Override
    public Combine dispatch(int layer, float[][] xs, int n, Routing[] routings) {
        return out -> addWeighted(routings, n, ExpertOutputs.rows(compute(layer, xs, n, chosen(routings, n), null, null)),
                out, hidden);
    }

    /**
     * As {@link #dispatch}, and the shared experts {@code shared} over the same tokens into {@code sharedOut} in the same
     * two hand-offs as the routed ones (by the time the routed outputs are added): in one process nothing runs
     * meanwhile, and each hand-off saved is worth a small expert's product at batch-1 decode.
     */
    Combine dispatchWithShared(int layer, float[][] xs, int n, Routing[] routings, MlpWeights shared, float[][] sharedOut) {
        return out -> addWeighted(routings, n, ExpertOutputs.rows(compute(layer, xs, n, chosen(routings, n), shared, sharedOut)),
                out, hidden);
    }

    /**
     * Each chosen expert's output, unweighted: {@code [t][k] = E_{chosen[t][k]}(xs[t])}. The rows are this object's
     * buffers, valid until its next call.
     *
     * @throws IllegalArgumentException when a token names an expert this process does not hold
     */
    public float[][][] expertOutputs(int layer, float[][] xs, int n, int[][] chosen) {
        return compute(layer, xs, n, chosen, null, null);
    }

    /**
     * Adds each token's {@code Σ_k w_k · E_k(x_t)} to {@code out[t]}: the output of its k-th chosen expert scaled by its
     * routing weight, in expert-index order, one fused multiply-add per element each. The one place the routed experts
     * are summed, in the engine and in the router over its shards alike (there reading the shards' answers in place).
     */
    public static void addWeighted(Routing[] routings, int n, ExpertOutputs outputs, float[][] out, int hidden) {
        for (int t = 0; t < n; t++) {
            int[] experts = routings[t].experts();
            float[] weights = routings[t].weights();
            int last = -1;
            for (int picked = 0; picked < experts.length; picked++) {
                int next = -1;   // the pick with the smallest expert index above the last one added
                for (int k = 0; k < experts.length; k++) {
                    if (experts[k] > last && (next < 0 || experts[k] < experts[next])) {
                        next = k;
                    }
                }
                outputs.addScaled(t, next, weights[next], out[t], hidden);
                last = experts[next];
            }
        }
    }

    private static int[][] chosen(Routing[] routings, int n) {
        int[][] chosen = new int[n][];
        for (int t = 0; t < n; t++) {
            chosen[t] = routings[t].experts();
        }
        return chosen;
    }

    private float[][][] compute(int layer, float[][] xs, int n, int[][] chosen, MlpWeights shared, float[][] sharedOut) {
        MlpWeights[] experts = expertsOfLayer.apply(layer);
        int[] counts = new int[experts.length];
        int picks = 0;
        for (int t = 0; t < n; t++) {
            for (int e : chosen[t]) {
                if (e < 0 || e >= experts.length || experts[e] == null) {
                    throw new IllegalArgumentException("layer " + layer + ": expert " + e + " is not held here");
                }
                counts[e]++;
                picks++;
            }
        }
        if (outputs.length < picks) {
            outputs = new float[Math.max(picks, 2 * outputs.length)][hidden];
        }
        // each active expert gets the rows of its tokens (references, not copies) and a run of output rows
        int[] firstRow = new int[experts.length];
        for (int e = 0, row = 0; e < experts.length; row += counts[e], e++) {
            firstRow[e] = row;
        }
        float[][][] byPick = new float[n][][];
        float[][][] inputs = new float[experts.length][][];
        int[] filled = new int[experts.length];
        for (int t = 0; t < n; t++) {
            byPick[t] = new float[chosen[t].length][];
            for (int k = 0; k < chosen[t].length; k++) {
                int e = chosen[t][k];
                if (inputs[e] == null) {
                    inputs[e] = new float[counts[e]][];
                }
                inputs[e][filled[e]] = xs[t];
                byPick[t][k] = outputs[firstRow[e] + filled[e]++];
            }
        }
        List<SwiGlu.Block> blocks = new ArrayList<>();
        for (int e = 0; e < experts.length; e++) {
            if (counts[e] > 0) {
                blocks.add(new SwiGlu.Block(experts[e], inputs[e], counts[e],
                        Arrays.copyOfRange(outputs, firstRow[e], firstRow[e] + counts[e])));
            }
        }
        if (shared != null) {
            blocks.add(new SwiGlu.Block(shared, xs, n, sharedOut));
        }
        swiGlu.applyAll(blocks);
        return byPick;
    }
}
