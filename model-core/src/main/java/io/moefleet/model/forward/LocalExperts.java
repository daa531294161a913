package io.moefleet.model.forward;

import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.VectorMath;
import io.moefleet.model.weights.MlpWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Routed experts computed here: each chosen expert runs once over all its tokens (a layer's experts in three hand-offs to
 * the workers), and each token's outputs are added in expert-index order, so a token's sum does not depend on its
 * batch-mates. An expert shard serves its part of a layer with the same code over the experts it holds.
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
        return out -> compute(layer, xs, n, routings, null, null, out);
    }

    /**
     * As {@link #dispatch}, and the shared experts {@code shared} over the same tokens into {@code sharedOut} in the same
     * two hand-offs as the routed ones (by the time the routed outputs are added): in one process nothing runs
     * meanwhile, and each hand-off saved is worth a small expert's product at batch-1 decode.
     */
    Combine dispatchWithShared(int layer, float[][] xs, int n, Routing[] routings, MlpWeights shared, float[][] sharedOut) {
        return out -> compute(layer, xs, n, routings, shared, sharedOut, out);
    }

    private void compute(int layer, float[][] xs, int n, Routing[] routings, MlpWeights shared, float[][] sharedOut,
            float[][] out) {
        MlpWeights[] experts = expertsOfLayer.apply(layer);
        int[] counts = new int[experts.length];
        int picks = 0;
        for (int t = 0; t < n; t++) {
            for (int e : routings[t].experts()) {
                if (experts[e] == null) {
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
        List<SwiGlu.Block> blocks = new ArrayList<>();
        int[][] tokens = new int[experts.length][];
        float[][] gates = new float[experts.length][];
        int outputRow = 0;
        for (int e = 0; e < experts.length; e++) {
            if (counts[e] == 0) {
                continue;
            }
            float[][] inputs = new float[counts[e]][];
            tokens[e] = new int[counts[e]];
            gates[e] = new float[counts[e]];
            int m = 0;
            for (int t = 0; t < n; t++) {
                int[] chosen = routings[t].experts();
                for (int k = 0; k < chosen.length; k++) {
                    if (chosen[k] == e) {
                        inputs[m] = xs[t];
                        tokens[e][m] = t;
                        gates[e][m++] = routings[t].weights()[k];
                    }
                }
            }
            blocks.add(new SwiGlu.Block(experts[e], inputs, m, Arrays.copyOfRange(outputs, outputRow, outputRow + m)));
            outputRow += m;
        }
        if (shared != null) {
            blocks.add(new SwiGlu.Block(shared, xs, n, sharedOut));   // last: the loop below reads the routed blocks only
        }
        swiGlu.applyAll(blocks);
        int block = 0;
        for (int e = 0; e < experts.length; e++) {
            if (counts[e] == 0) {
                continue;
            }
            float[][] results = blocks.get(block++).outs();
            for (int j = 0; j < counts[e]; j++) {
                VectorMath.axpy(gates[e][j], results[j], 0, out[tokens[e][j]], 0, hidden);
            }
        }
    }
}
