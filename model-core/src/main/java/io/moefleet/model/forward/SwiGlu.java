package io.moefleet.model.forward;

import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.VectorMath;
import io.moefleet.model.weights.MlpWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code down(silu(gate(x)) * up(x))} for a set of blocks at once (a layer's chosen experts and its shared experts),
 * in two hand-offs to the workers: every block's gate and up rows with their activation, then every down product.
 */
final class SwiGlu {

    /** One block applied to some tokens: {@code outs[t] = block(xs[t])} for {@code t < n}. */
    record Block(MlpWeights w, float[][] xs, int n, float[][] outs) {}

    private final MatMul matMul;
    private float[][] activated = new float[0][];
    /** Each thread's gate rows of the run it is computing ({@link GateUp}). */
    private final ThreadLocal<float[][][]> gateScratch = ThreadLocal.withInitial(() -> new float[][][] {new float[0][]});

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
        activated = atLeast(activated, rows, width);
        List<GateUp> gateUp = new ArrayList<>(blocks.size());
        List<MatMul.Job> down = new ArrayList<>(blocks.size());
        int first = 0;
        for (Block b : blocks) {
            float[][] a = Arrays.copyOfRange(activated, first, first + b.n());
            gateUp.add(new GateUp(b.w(), b.xs(), b.n(), a));
            down.add(new MatMul.Job(b.w().down(), a, b.n(), b.outs()));
            first += b.n();
        }
        matMul.multiplyAll(gateUp);
        matMul.multiplyAll(down);
    }

    /**
     * Rows {@code [from, to)} of a block's gate and up products and their activation {@code silu(gate) * up} in one
     * run, so that no hand-off separates the products from the activation (at batch-1 decode each hand-off costs about
     * as much as a small product). Each element's arithmetic is the same whichever thread computes which rows
     * ({@link VectorMath#siluTimes}).
     */
    private final class GateUp implements MatMul.RowTask {
        private final MlpWeights w;
        private final float[][] xs;
        private final int n;
        private final float[][] activated;

        GateUp(MlpWeights w, float[][] xs, int n, float[][] activated) {
            this.w = w;
            this.xs = xs;
            this.n = n;
            this.activated = activated;
        }

        @Override
        public int rows() {
            return n == 0 ? 0 : w.gate().rows();
        }

        @Override
        public long rowCost() {
            return MatMul.productRowCost(w.gate(), n) + MatMul.productRowCost(w.up(), n);
        }

        @Override
        public void run(int from, int to) {
            float[][] gate = gateRows(n, to - from);
            w.gate().multiply(xs, 0, n, gate, -from, from, to);
            w.up().multiply(xs, 0, n, activated, 0, from, to);
            for (int t = 0; t < n; t++) {
                VectorMath.siluTimes(gate[t], 0, activated[t], from, to - from);
            }
        }
    }

    /** This thread's scratch for {@code n} tokens' gate rows, {@code width} each. */
    private float[][] gateRows(int n, int width) {
        float[][][] holder = gateScratch.get();
        holder[0] = atLeast(holder[0], n, width);
        return holder[0];
    }

    /** {@code rows} when it has {@code n} rows of {@code width} floats, else a larger one (never smaller in either). */
    private static float[][] atLeast(float[][] rows, int n, int width) {
        if (rows.length >= n && (n == 0 || rows[0].length >= width)) {
            return rows;
        }
        return new float[Math.max(n, rows.length)][Math.max(width, rows.length == 0 ? 0 : rows[0].length)];
    }
}
