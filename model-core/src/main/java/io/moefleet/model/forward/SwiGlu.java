package io.moefleet.model.forward;

import io.moefleet.model.compute.MatMul;
import io.moefleet.model.weights.MlpWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code down(silu(gate(x)) * up(x))} for a set of blocks at once (a layer's chosen experts and its shared experts),
 * in three hand-offs to the workers: every gate and up product, the activations, then every down product.
 */
final class SwiGlu {

    /** One block applied to some tokens: {@code outs[t] = block(xs[t])} for {@code t < n}. */
    record Block(MlpWeights w, float[][] xs, int n, float[][] outs) {}

    private final MatMul matMul;
    private float[][] gate = new float[0][];
    private float[][] up = new float[0][];

    SwiGlu(MatMul matMul) {
        this.matMul = matMul;
    }

    void apply(MlpWeights w, float[][] xs, int n, float[][] outs) {
        applyAll(List.of(new Block(w, xs, n, outs)));
    }

    void applyAll(List<Block> blocks) {
        int rows = 0;
        int width = 0;
        for (Block b : blocks) {
            rows += b.n();
            width = Math.max(width, b.w().gate().rows());
        }
        ensure(rows, width);
        List<MatMul.Job> gateUp = new ArrayList<>(2 * blocks.size());
        List<MatMul.Job> down = new ArrayList<>(blocks.size());
        int first = 0;
        for (Block b : blocks) {
            float[][] g = Arrays.copyOfRange(gate, first, first + b.n());
            float[][] u = Arrays.copyOfRange(up, first, first + b.n());
            gateUp.add(new MatMul.Job(b.w().gate(), b.xs(), b.n(), g));
            gateUp.add(new MatMul.Job(b.w().up(), b.xs(), b.n(), u));
            down.add(new MatMul.Job(b.w().down(), g, b.n(), b.outs()));
            first += b.n();
        }
        matMul.multiplyAll(gateUp);
        activate(blocks, rows);
        matMul.multiplyAll(down);
    }

    /**
     * {@code gate[r] = silu(gate[r]) * up[r]} for the first {@code rows} rows (block after block, as applyAll laid them
     * out), split over the workers: at batch 16 these are a hundred-odd rows of exponentials, a few percent of a step on
     * one thread. Each element's arithmetic is the same whatever the split.
     */
    private void activate(List<Block> blocks, int rows) {
        int[] width = new int[rows];
        int first = 0;
        for (Block b : blocks) {
            Arrays.fill(width, first, first + b.n(), b.w().gate().rows());
            first += b.n();
        }
        matMul.workers().parallelFor(rows, (from, to) -> {
            for (int r = from; r < to; r++) {
                float[] g = gate[r];
                float[] u = up[r];
                for (int k = 0; k < width[r]; k++) {
                    float x = g[k];
                    g[k] = x / (1f + (float) Math.exp(-x)) * u[k];
                }
            }
        });
    }

    private void ensure(int rows, int width) {
        if (gate.length < rows || (rows > 0 && gate[0].length < width)) {
            int n = Math.max(rows, gate.length);
            int w = Math.max(width, gate.length == 0 ? 0 : gate[0].length);
            gate = new float[n][w];
            up = new float[n][w];
        }
    }
}
