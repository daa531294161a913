package io.moefleet.model.forward;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.weights.AttentionWeights;
import java.util.Arrays;

/**
 * Multi-head latent attention of one layer over one sequence's chunk. Each token's KV is cached as its normalised
 * latent c and roped shared key k_pe. A multi-token chunk (prefill) expands the cached latents to per-head keys and
 * values through kv_b_proj; a single decode token takes the absorbed path, which never expands them:
 * {@code q_lat = q_nope · W_UK} is scored against c directly and {@code W_UV} is applied after the softmax.
 */
final class MlaAttention {

    private final ModelConfig c;
    private final AttentionWeights w;
    private final Rope rope;
    private final int heads;
    private final int nope;
    private final int ropeDim;
    private final int qkDim;
    private final int vDim;
    private final int kvRank;
    private final int kvbStride;      // rows of kv_b_proj per head: [k_nope | v]
    private final float scale;

    // per-token scratch, allocated once
    private final float[] qLatent;
    private final float[] kvA;
    private final float[] latentRow;
    private final float[] attentionOutput;
    private final float[] headLatent;
    private final float[] kvbRow;
    private float[] scores = new float[0];

    MlaAttention(ModelConfig c, AttentionWeights w, Rope rope) {
        this.c = c;
        this.w = w;
        this.rope = rope;
        this.heads = c.numAttentionHeads();
        this.nope = c.qkNopeHeadDim();
        this.ropeDim = c.qkRopeHeadDim();
        this.qkDim = c.qkHeadDim();
        this.vDim = c.vHeadDim();
        this.kvRank = c.kvLoraRank();
        this.kvbStride = nope + vDim;
        this.scale = (float) c.softmaxScale();
        this.qLatent = new float[Math.max(c.qLoraRank(), 1)];
        this.kvA = new float[c.latentWidth()];
        this.latentRow = new float[c.latentWidth()];
        this.attentionOutput = new float[heads * vDim];
        this.headLatent = new float[kvRank];
        this.kvbRow = new float[kvRank];
    }

    /**
     * Attends the chunk's tokens (their normalised hidden states {@code x[from .. from + n)}, at positions
     * {@code start ..}) over the sequence's cache, appending their latents to it; writes o_proj's output to {@code out}.
     */
    void forward(LatentCache cache, int layer, int start, float[][] x, int from, int n, RopeTable angles, float[][] out) {
        cache.ensureCapacity(start + n);
        float[] layerCache = cache.layer(layer);
        int width = cache.width();
        float[][] q = new float[n][heads * qkDim];
        for (int i = 0; i < n; i++) {
            query(x[from + i], angles, start + i, q[i]);
            latent(x[from + i], angles, start + i, layerCache, (start + i) * width);
        }
        if (n == 1) {
            absorbed(q[0], layerCache, start, width);
            w.o().matvec(attentionOutput, out[from]);
        } else {
            expanded(q, layerCache, start, n, width, out, from);
        }
    }

    /** The multi-token path: keys and values of every visible position expanded once for the whole chunk. */
    private void expanded(float[][] q, float[] layerCache, int start, int n, int width, float[][] out, int from) {
        int visible = start + n;
        float[][] keysValues = new float[visible][heads * kvbStride];
        for (int p = 0; p < visible; p++) {
            w.kvB().matvec(layerCache, p * width, keysValues[p], 0);
        }
        ensureScores(visible);
        for (int i = 0; i < n; i++) {
            int last = start + i;
            for (int h = 0; h < heads; h++) {
                int qBase = h * qkDim;
                int kBase = h * kvbStride;
                for (int p = 0; p <= last; p++) {
                    float[] kv = keysValues[p];
                    float s = 0;
                    for (int d = 0; d < nope; d++) {
                        s += q[i][qBase + d] * kv[kBase + d];
                    }
                    int pe = p * width + kvRank;
                    for (int d = 0; d < ropeDim; d++) {
                        s += q[i][qBase + nope + d] * layerCache[pe + d];
                    }
                    scores[p] = s * scale;
                }
                softmax(scores, last + 1);
                int oBase = h * vDim;
                Arrays.fill(attentionOutput, oBase, oBase + vDim, 0f);
                for (int p = 0; p <= last; p++) {
                    float prob = scores[p];
                    float[] kv = keysValues[p];
                    for (int e = 0; e < vDim; e++) {
                        attentionOutput[oBase + e] += prob * kv[kBase + nope + e];
                    }
                }
            }
            w.o().matvec(attentionOutput, out[from + i]);
        }
    }

    /** The decode path: q_nope absorbed into W_UK, scored against cached latents, W_UV applied to the attended latent. */
    private void absorbed(float[] q, float[] layerCache, int last, int width) {
        ensureScores(last + 1);
        for (int h = 0; h < heads; h++) {
            int qBase = h * qkDim;
            Arrays.fill(headLatent, 0);
            for (int d = 0; d < nope; d++) {
                w.kvB().row(h * kvbStride + d, kvbRow, 0);
                float qd = q[qBase + d];
                for (int r = 0; r < kvRank; r++) {
                    headLatent[r] += qd * kvbRow[r];
                }
            }
            for (int p = 0; p <= last; p++) {
                int base = p * width;
                float s = 0;
                for (int r = 0; r < kvRank; r++) {
                    s += headLatent[r] * layerCache[base + r];
                }
                for (int d = 0; d < ropeDim; d++) {
                    s += q[qBase + nope + d] * layerCache[base + kvRank + d];
                }
                scores[p] = s * scale;
            }
            softmax(scores, last + 1);
            Arrays.fill(headLatent, 0);
            for (int p = 0; p <= last; p++) {
                int base = p * width;
                float prob = scores[p];
                for (int r = 0; r < kvRank; r++) {
                    headLatent[r] += prob * layerCache[base + r];
                }
            }
            for (int e = 0; e < vDim; e++) {
                attentionOutput[h * vDim + e] = w.kvB().dot(h * kvbStride + nope + e, headLatent, 0);
            }
        }
    }

    /** q = q_b(rms(q_a(x))) or q_proj(x), as [heads][nope | rope], the rope part rotated. */
    private void query(float[] x, RopeTable angles, int position, float[] q) {
        if (c.hasQLora()) {
            w.qA().matvec(x, qLatent);
            RmsNorm.apply(qLatent, 0, c.qLoraRank(), w.qANorm(), ModelConfig.LATENT_NORM_EPS, qLatent, 0);
            w.qB().matvec(qLatent, q);
        } else {
            w.q().matvec(x, q);
        }
        for (int h = 0; h < heads; h++) {
            rope.rotate(q, h * qkDim + nope, angles.cos(position), angles.sin(position));
        }
    }

    /** Writes the token's cache entry: rms(c) with kv_a_layernorm, then the roped shared key. */
    private void latent(float[] x, RopeTable angles, int position, float[] layerCache, int offset) {
        w.kvA().matvec(x, kvA);
        RmsNorm.apply(kvA, 0, kvRank, w.kvANorm(), ModelConfig.LATENT_NORM_EPS, latentRow, 0);
        System.arraycopy(kvA, kvRank, latentRow, kvRank, ropeDim);
        rope.rotate(latentRow, kvRank, angles.cos(position), angles.sin(position));
        System.arraycopy(latentRow, 0, layerCache, offset, latentRow.length);
    }

    private void ensureScores(int n) {
        if (scores.length < n) {
            scores = new float[Math.max(n, scores.length * 2)];
        }
    }

    /** In-place softmax of {@code v[0 .. n)} in float32 with the maximum subtracted. */
    static void softmax(float[] v, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, v[i]);
        }
        float sum = 0;
        for (int i = 0; i < n; i++) {
            v[i] = (float) Math.exp(v[i] - max);
            sum += v[i];
        }
        float inv = 1 / sum;
        for (int i = 0; i < n; i++) {
            v[i] *= inv;
        }
    }
}
