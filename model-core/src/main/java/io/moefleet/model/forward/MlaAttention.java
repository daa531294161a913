package io.moefleet.model.forward;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.VectorMath;
import io.moefleet.model.weights.AttentionWeights;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Multi-head latent attention over a step's chunks, one layer at a time. Each token's KV is cached as its normalised
 * latent c and roped shared key k_pe. A multi-token chunk (prefill) expands the cached latents to per-head keys and
 * values through kv_b_proj; a single decode token takes the absorbed path, which never expands them:
 * {@code q_lat = q_nope · W_UK} is scored against c directly and {@code W_UV} is applied after the softmax.
 * The projections run as one product over all of the step's tokens.
 */
final class MlaAttention {

    private final ModelConfig c;
    private final MatMul matMul;
    private final Rope rope;
    private final int heads;
    private final int nope;
    private final int ropeDim;
    private final int qkDim;
    private final int vDim;
    private final int kvRank;
    private final int kvbStride;      // rows of kv_b_proj per head: [k_nope | v]
    private final float scale;
    private final ThreadLocal<Scratch> scratch;

    private final StepBuffers buffers = new StepBuffers();

    /** Per-thread buffers of the per-sequence part (decode sequences run in parallel). */
    private static final class Scratch {
        float[] qLatent;
        float[] attended;
        float[] scores = new float[64];
    }

    /** Per-step buffers over all tokens, grown to the largest step seen. */
    private static final class StepBuffers {
        float[][] qLora = new float[0][];
        float[][] q = new float[0][];
        float[][] kv = new float[0][];
        float[][] attention = new float[0][];
    }

    MlaAttention(ModelConfig c, MatMul matMul, Rope rope) {
        this.c = c;
        this.matMul = matMul;
        this.rope = rope;
        this.heads = c.numAttentionHeads();
        this.nope = c.qkNopeHeadDim();
        this.ropeDim = c.qkRopeHeadDim();
        this.qkDim = c.qkHeadDim();
        this.vDim = c.vHeadDim();
        this.kvRank = c.kvLoraRank();
        this.kvbStride = nope + vDim;
        this.scale = (float) c.softmaxScale();
        this.scratch = ThreadLocal.withInitial(() -> {
            Scratch s = new Scratch();
            s.qLatent = new float[kvRank];
            s.attended = new float[kvRank];
            return s;
        });
    }

    /**
     * Attends every chunk's tokens (rows {@code normed[0 .. total)} in chunk order) over their sequences' caches,
     * appending their latents; writes o_proj's output rows to {@code out}.
     */
    void forward(int layer, AttentionWeights w, List<StepChunk> chunks, RopeTable[] angles, float[][] normed, int total, float[][] out) {
        grow(total);
        // the two projections of x in one hand-off: q_a (or q_proj) and kv_a
        MatMul.Job latentProjection = new MatMul.Job(w.kvA(), normed, total, buffers.kv);
        if (c.hasQLora()) {
            matMul.multiplyAll(List.of(new MatMul.Job(w.qA(), normed, total, buffers.qLora), latentProjection));
            for (int t = 0; t < total; t++) {
                RmsNorm.apply(buffers.qLora[t], 0, c.qLoraRank(), w.qANorm(), ModelConfig.LATENT_NORM_EPS, buffers.qLora[t], 0);
            }
            matMul.multiply(w.qB(), buffers.qLora, total, buffers.q);
        } else {
            matMul.multiplyAll(List.of(new MatMul.Job(w.q(), normed, total, buffers.q), latentProjection));
        }

        int row = 0;
        for (int ci = 0; ci < chunks.size(); ci++) {
            StepChunk chunk = chunks.get(ci);
            LatentCache cache = chunk.sequence().cache();
            cache.ensureCapacity(chunk.end());
            float[][] rows = cache.layer(layer);
            for (int i = 0; i < chunk.tokens().length; i++, row++) {
                int position = chunk.start() + i;
                float[] q = buffers.q[row];
                for (int h = 0; h < heads; h++) {
                    rope.rotate(q, h * qkDim + nope, angles[ci].cos(position), angles[ci].sin(position));
                }
                float[] latent = rows[position];
                float[] kv = buffers.kv[row];
                RmsNorm.apply(kv, 0, kvRank, w.kvANorm(), ModelConfig.LATENT_NORM_EPS, latent, 0);
                System.arraycopy(kv, kvRank, latent, kvRank, ropeDim);
                rope.rotate(latent, kvRank, angles[ci].cos(position), angles[ci].sin(position));
            }
        }

        // The step's attention as independent pieces that the threads claim in turn, the costliest first: each
        // (decode token, head) pair on the absorbed path, and each query of a multi-token chunk over the chunk's expanded
        // keys and values. A causal query costs as many positions as it sees, so the halves of a prompt's queries in order
        // gave one thread three times the other's work; and a step's decode tokens beside a prompt ran on one thread. A
        // piece's result does not depend on the thread that computes it, nor on the other pieces.
        List<Piece> pieces = new ArrayList<>();
        row = 0;
        for (StepChunk chunk : chunks) {
            int n = chunk.tokens().length;
            float[][] rows = chunk.sequence().cache().layer(layer);
            int first = row;
            int start = chunk.start();
            if (n == 1) {
                long cost = (long) (start + 1) * (2 * kvRank + ropeDim) + (long) kvRank * kvbStride;
                for (int h = 0; h < heads; h++) {
                    int head = h;
                    pieces.add(new Piece(cost, () -> absorbedHead(w, buffers.q[first], rows, start, buffers.attention[first], head)));
                }
            } else {
                float[][] keysValues = new float[start + n][heads * kvbStride];
                matMul.multiply(w.kvB(), rows, start + n, keysValues);
                for (int i = 0; i < n; i++) {
                    int query = i;
                    long cost = (long) heads * (start + i + 1) * (nope + ropeDim + vDim);
                    pieces.add(new Piece(cost, () -> expandedQuery(rows, keysValues, start + query, first + query)));
                }
            }
            row += n;
        }
        pieces.sort(COSTLIEST_FIRST);
        AtomicInteger next = new AtomicInteger();
        matMul.workers().shareOut(() -> {
            for (int i = next.getAndIncrement(); i < pieces.size(); i = next.getAndIncrement()) {
                pieces.get(i).work().run();
            }
        });
        matMul.multiply(w.o(), buffers.attention, total, out);
    }

    /** A share of a layer's attention that one thread computes alone; {@code cost} in multiply-adds, roughly. */
    private record Piece(long cost, Runnable work) {}

    private static final Comparator<Piece> COSTLIEST_FIRST = Comparator.comparingLong(Piece::cost).reversed();

    /**
     * The multi-token path for the query at position {@code last} (step row {@code row}): every head scored against the
     * keys of positions {@code 0 .. last} expanded through kv_b_proj, softmax, values summed.
     */
    private void expandedQuery(float[][] cached, float[][] keysValues, int last, int row) {
        Scratch s = scratch.get();
        float[] q = buffers.q[row];
        float[] out = buffers.attention[row];
        float[] scores = scores(s, last + 1);
        for (int h = 0; h < heads; h++) {
            int qBase = h * qkDim;
            int kBase = h * kvbStride;
            for (int p = 0; p <= last; p++) {
                float score = VectorMath.dot(q, qBase, keysValues[p], kBase, nope)
                        + VectorMath.dot(q, qBase + nope, cached[p], kvRank, ropeDim);
                scores[p] = score * scale;
            }
            VectorMath.softmax(scores, last + 1);
            java.util.Arrays.fill(out, h * vDim, (h + 1) * vDim, 0f);
            for (int p = 0; p <= last; p++) {
                VectorMath.axpy(scores[p], keysValues[p], kBase + nope, out, h * vDim, vDim);
            }
        }
    }

    /**
     * Head {@code h} of the decode path: q_nope absorbed into W_UK, scored against cached latents, W_UV applied to the
     * attended latent; writes {@code out[h·v_head_dim ..)} only.
     */
    private void absorbedHead(AttentionWeights w, float[] q, float[][] cached, int last, float[] out, int h) {
        Scratch s = scratch.get();
        float[] scores = scores(s, last + 1);
        int qBase = h * qkDim;
        java.util.Arrays.fill(s.qLatent, 0f);
        w.kvB().accumulateRows(h * kvbStride, h * kvbStride + nope, q, qBase, s.qLatent);
        for (int p = 0; p <= last; p++) {
            float score = VectorMath.dot(s.qLatent, 0, cached[p], 0, kvRank)
                    + VectorMath.dot(q, qBase + nope, cached[p], kvRank, ropeDim);
            scores[p] = score * scale;
        }
        VectorMath.softmax(scores, last + 1);
        java.util.Arrays.fill(s.attended, 0f);
        for (int p = 0; p <= last; p++) {
            VectorMath.axpy(scores[p], cached[p], 0, s.attended, 0, kvRank);
        }
        int firstValueRow = h * kvbStride + nope;
        w.kvB().multiply(new float[][] {s.attended}, 0, 1, new float[][] {out}, h * vDim - firstValueRow,
                firstValueRow, firstValueRow + vDim);
    }

    private static float[] scores(Scratch s, int n) {
        if (s.scores.length < n) {
            s.scores = new float[Math.max(n, s.scores.length * 2)];
        }
        return s.scores;
    }

    private void grow(int total) {
        if (buffers.q.length >= total) {
            return;
        }
        int n = Math.max(total, buffers.q.length * 2);
        buffers.qLora = new float[n][Math.max(c.qLoraRank(), 1)];
        buffers.q = new float[n][heads * qkDim];
        buffers.kv = new float[n][c.latentWidth()];
        buffers.attention = new float[n][heads * vDim];
    }
}
