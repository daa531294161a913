package io.moefleet.trainer;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.VectorMath;
import java.util.Arrays;

/**
 * Multi-head latent attention over a batch of whole sequences, in the engine's arithmetic (its prefill path):
 * <pre>
 *   q      = q_b(norm_q(q_a x))  or  q_proj x            per head [q_nope | q_pe], q_pe roped
 *   [c|kr] = kv_a x;  latent = [norm_kv(c) | rope(kr)]   kr: the one rotary key all heads share
 *   [k|v]  = kv_b norm_kv(c)                             per head
 *   s_ij   = (q_nope_i·k_j + q_pe_i·kr_j) · scale,  j ≤ i;  P = softmax(s);  o = o_proj(Σ_j P_ij v_j)
 * </pre>
 * Records each head's largest scaled logit {@code s_ij} of the last forward ({@link #maxLogits}) for QK-Clip.
 * Backward: {@code dS = P ∘ (dP − Σ P dP)}, then the same products transposed; the shared key's gradient is
 * summed over heads (per-head buffers, added in head order, so the threads never share a row).
 */
final class MlaBlock {

    final Projection qA;          // null without a q LoRA
    final Norm qANorm;
    final Projection qB;          // q_b_proj, or q_proj without a q LoRA
    final Projection kvA;
    final Norm kvANorm;
    final Projection kvB;
    final Projection o;

    private final MatMul matMul;
    private final RopeAngles rope;
    private final int heads;
    private final int nope;
    private final int ropeDim;
    private final int qkDim;
    private final int vDim;
    private final int kvRank;
    private final int kvbStride;
    private final float scale;
    private final float[] maxLogits;

    // kept from the forward pass, grown to the largest batch seen
    private int rows;
    private int span;
    private float[][] qLora;
    private float[][] qLoraNormed;
    private float[][] q;
    private float[][] kv;
    private float[][] latent;
    private float[][] keysValues;
    private float[][] probabilities;  // [row][head * span + j]
    private float[][] attended;
    private float[][] rowMax;
    private int[] sequenceStart;      // per row: its sequence's first row
    private final ThreadLocal<float[]> scoreScratch = ThreadLocal.withInitial(() -> new float[span]);
    // backward scratch
    private float[][] dAttended;
    private float[][] dQ;
    private float[][] dKeysValues;
    private float[][] dLatent;
    private float[][][] dSharedKey;   // [head][row][rope dim]
    private float[][] dKv;
    private float[][] dQLoraNormed;
    private float[][] dQLora;

    MlaBlock(ModelConfig c, MatMul matMul, RopeAngles rope, Projection qA, Norm qANorm, Projection qB, Projection kvA,
            Norm kvANorm, Projection kvB, Projection o) {
        this.qA = qA;
        this.qANorm = qANorm;
        this.qB = qB;
        this.kvA = kvA;
        this.kvANorm = kvANorm;
        this.kvB = kvB;
        this.o = o;
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
        this.maxLogits = new float[heads];
    }

    /** Each head's largest scaled attention logit in the last forward pass. */
    float[] maxLogits() {
        return maxLogits;
    }

    void forward(float[][] x, SequenceRows seqs, float[][] y) {
        int n = seqs.total();
        grow(n, seqs.longest());
        rope.ensure(seqs.longest());
        if (qA != null) {
            qA.forward(x, n, qLora);
            qANorm.forward(qLora, n, qLoraNormed);
            qB.forward(qLoraNormed, n, q);
        } else {
            qB.forward(x, n, q);
        }
        kvA.forward(x, n, kv);
        for (int s = 0; s < seqs.sequences(); s++) {
            for (int i = 0; i < seqs.length()[s]; i++) {
                int row = seqs.start()[s] + i;
                sequenceStart[row] = seqs.start()[s];
                for (int h = 0; h < heads; h++) {
                    rope.rotate(q[row], h * qkDim + nope, i);
                }
                System.arraycopy(kv[row], kvRank, latent[row], kvRank, ropeDim);
                rope.rotate(latent[row], kvRank, i);
            }
        }
        kvANorm.forward(kv, n, latent);
        kvB.forward(latent, n, keysValues);
        long work = (long) n * seqs.longest() * heads * (qkDim + vDim);
        Split.range(matMul.workers(), n, work, (from, to) -> {
            for (int row = from; row < to; row++) {
                attend(row);
            }
        });
        Arrays.fill(maxLogits, Float.NEGATIVE_INFINITY);
        for (int row = 0; row < n; row++) {
            for (int h = 0; h < heads; h++) {
                maxLogits[h] = Math.max(maxLogits[h], rowMax[row][h]);
            }
        }
        o.forward(attended, n, y);
    }

    /** One query row over the keys of its sequence up to itself, every head. */
    private void attend(int row) {
        int first = sequenceStart[row];
        int visible = row - first + 1;
        float[] qi = q[row];
        float[] out = attended[row];
        for (int h = 0; h < heads; h++) {
            int qBase = h * qkDim;
            int kBase = h * kvbStride;
            float[] p = probabilities[row];
            int pBase = h * span;
            float max = Float.NEGATIVE_INFINITY;
            float[] scores = scoreScratch.get();
            if (scores.length < visible) {
                scores = new float[span];
                scoreScratch.set(scores);
            }
            for (int j = 0; j < visible; j++) {
                float score = VectorMath.dot(qi, qBase, keysValues[first + j], kBase, nope)
                        + VectorMath.dot(qi, qBase + nope, latent[first + j], kvRank, ropeDim);
                scores[j] = score * scale;
                max = Math.max(max, scores[j]);
            }
            rowMax[row][h] = max;
            VectorMath.softmax(scores, visible);
            System.arraycopy(scores, 0, p, pBase, visible);
            Arrays.fill(out, h * vDim, (h + 1) * vDim, 0f);
            for (int j = 0; j < visible; j++) {
                VectorMath.axpy(scores[j], keysValues[first + j], kBase + nope, out, h * vDim, vDim);
            }
        }
    }

    /** Adds to every weight's gradient and to {@code dx}, for the rows of the last forward. */
    void backward(float[][] x, SequenceRows seqs, float[][] dy, float[][] dx) {
        int n = seqs.total();
        clear(dAttended, n);
        o.backward(attended, dy, n, dAttended);
        clear(dQ, n);
        clear(dKeysValues, n);
        clear(dLatent, n);
        for (float[][] perHead : dSharedKey) {
            clear(perHead, n);
        }
        // (sequence, head) pairs: each writes only its head's slices and its own shared-key buffer
        long work = (long) n * seqs.longest() * heads * (qkDim + 2 * vDim);
        Split.range(matMul.workers(), seqs.sequences() * heads, work, (from, to) -> {
            for (int pair = from; pair < to; pair++) {
                scoresBackward(seqs.start()[pair / heads], seqs.length()[pair / heads], pair % heads);
            }
        });
        for (int row = 0; row < n; row++) {
            for (int h = 0; h < heads; h++) {
                VectorMath.axpy(1f, dSharedKey[h][row], 0, dLatent[row], kvRank, ropeDim);
            }
        }
        kvB.backward(latent, dKeysValues, n, dLatent);
        clear(dKv, n);
        kvANorm.backward(kv, dLatent, n, dKv);
        for (int s = 0; s < seqs.sequences(); s++) {
            for (int i = 0; i < seqs.length()[s]; i++) {
                int row = seqs.start()[s] + i;
                rope.rotateBack(dLatent[row], kvRank, i);
                System.arraycopy(dLatent[row], kvRank, dKv[row], kvRank, ropeDim);
                for (int h = 0; h < heads; h++) {
                    rope.rotateBack(dQ[row], h * qkDim + nope, i);
                }
            }
        }
        kvA.backward(x, dKv, n, dx);
        if (qA != null) {
            clear(dQLoraNormed, n);
            qB.backward(qLoraNormed, dQ, n, dQLoraNormed);
            clear(dQLora, n);
            qANorm.backward(qLora, dQLoraNormed, n, dQLora);
            qA.backward(x, dQLora, n, dx);
        } else {
            qB.backward(x, dQ, n, dx);
        }
    }

    /** Head h of one sequence: from dO to dQ, dK, dV and the shared key's per-head gradient. */
    private void scoresBackward(int first, int length, int h) {
        int qBase = h * qkDim;
        int kBase = h * kvbStride;
        float[] dP = new float[length];
        float[][] dKey = dSharedKey[h];
        for (int i = 0; i < length; i++) {
            int row = first + i;
            float[] p = probabilities[row];
            int pBase = h * span;
            double sum = 0;
            for (int j = 0; j <= i; j++) {
                dP[j] = VectorMath.dot(dAttended[row], h * vDim, keysValues[first + j], kBase + nope, vDim);
                sum += (double) p[pBase + j] * dP[j];
                VectorMath.axpy(p[pBase + j], dAttended[row], h * vDim, dKeysValues[first + j], kBase + nope, vDim);
            }
            for (int j = 0; j <= i; j++) {
                float dScore = (float) (p[pBase + j] * (dP[j] - sum) * scale);
                if (dScore == 0f) {
                    continue;
                }
                VectorMath.axpy(dScore, keysValues[first + j], kBase, dQ[row], qBase, nope);
                VectorMath.axpy(dScore, q[row], qBase, dKeysValues[first + j], kBase, nope);
                VectorMath.axpy(dScore, latent[first + j], kvRank, dQ[row], qBase + nope, ropeDim);
                VectorMath.axpy(dScore, q[row], qBase + nope, dKey[first + j], 0, ropeDim);
            }
        }
    }

    private static void clear(float[][] rows, int n) {
        for (int r = 0; r < n; r++) {
            Arrays.fill(rows[r], 0f);
        }
    }

    private void grow(int n, int longest) {
        if (n <= rows && longest <= span) {
            return;
        }
        rows = Math.max(n, rows);
        span = Math.max(longest, span);
        int qLoraRank = qA != null ? qA.rows() : 0;
        int latentWidth = kvRank + ropeDim;
        qLora = new float[rows][qLoraRank];
        qLoraNormed = new float[rows][qLoraRank];
        q = new float[rows][heads * qkDim];
        kv = new float[rows][latentWidth];
        latent = new float[rows][latentWidth];
        keysValues = new float[rows][heads * kvbStride];
        probabilities = new float[rows][heads * span];
        attended = new float[rows][heads * vDim];
        rowMax = new float[rows][heads];
        sequenceStart = new int[rows];
        dAttended = new float[rows][heads * vDim];
        dQ = new float[rows][heads * qkDim];
        dKeysValues = new float[rows][heads * kvbStride];
        dLatent = new float[rows][latentWidth];
        dSharedKey = new float[heads][rows][ropeDim];
        dKv = new float[rows][latentWidth];
        dQLoraNormed = new float[rows][qLoraRank];
        dQLora = new float[rows][qLoraRank];
    }
}
