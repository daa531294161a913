package io.moefleet.trainer;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.forward.Rope;
import java.util.Map;

/**
 * The forward pass again, in double precision and plain loops, written from the math (the facts file's section 4)
 * rather than from the float32 code: the function the gradient checks differentiate by central differences. It reads
 * the parameters from a map by checkpoint name, so a check perturbs one entry of one array and calls it again.
 * Only the RoPE angles come from model-core ({@link Rope}, in float): they are constants, not trained.
 */
final class Reference {

    private final ModelConfig c;
    private final Map<String, double[]> p;
    private final Rope rope;
    /** Per layer and head, the largest scaled logit of the last attention call. */
    final double[][] maxLogits;

    Reference(ModelConfig c, Map<String, double[]> params) {
        this.c = c;
        this.p = params;
        this.rope = new Rope(c);
        this.maxLogits = new double[c.numHiddenLayers()][c.numAttentionHeads()];
    }

    /** Mean cross-entropy of the whole model over the scored targets. */
    double loss(Batch batch) {
        double[][] logits = logits(batch.inputs());
        int[] targets = batch.flatTargets();
        double loss = 0;
        int scored = 0;
        for (int t = 0; t < targets.length; t++) {
            if (targets[t] >= 0) {
                loss += crossEntropy(logits[t], targets[t]);
                scored++;
            }
        }
        return loss / scored;
    }

    static double crossEntropy(double[] z, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) {
            max = Math.max(max, v);
        }
        double sum = 0;
        for (double v : z) {
            sum += Math.exp(v - max);
        }
        return max + Math.log(sum) - z[target];
    }

    double[][] logits(int[][] sequences) {
        int[] lengths = new int[sequences.length];
        int n = 0;
        for (int s = 0; s < sequences.length; s++) {
            lengths[s] = sequences[s].length;
            n += lengths[s];
        }
        double[][] h = new double[n][];
        int row = 0;
        double[] table = p.get("model.embed_tokens.weight");
        int hidden = c.hiddenSize();
        for (int[] sequence : sequences) {
            for (int token : sequence) {
                h[row++] = java.util.Arrays.copyOfRange(table, token * hidden, (token + 1) * hidden);
            }
        }
        for (int layer = 0; layer < c.numHiddenLayers(); layer++) {
            h = layer(layer, h, lengths);
        }
        double[][] logits = new double[n][];
        for (int t = 0; t < n; t++) {
            logits[t] = linear("lm_head.weight", norm(h[t], "model.norm.weight", c.rmsNormEps()));
        }
        return logits;
    }

    double[][] layer(int layer, double[][] h, int[] lengths) {
        String prefix = "model.layers." + layer + ".";
        int n = h.length;
        double[][] normed = new double[n][];
        for (int t = 0; t < n; t++) {
            normed[t] = norm(h[t], prefix + "input_layernorm.weight", c.rmsNormEps());
        }
        double[][] attention = attention(layer, normed, lengths);
        double[][] out = new double[n][];
        for (int t = 0; t < n; t++) {
            double[] mid = add(h[t], attention[t]);
            double[] x = norm(mid, prefix + "post_attention_layernorm.weight", c.rmsNormEps());
            out[t] = add(mid, c.isMoeLayer(layer) ? moe(prefix + "mlp.", x) : swiGlu(prefix + "mlp.", x));
        }
        return out;
    }

    /** MLA over consecutive sequences of the given lengths (rows in order), causal within each. */
    double[][] attention(int layer, double[][] x, int[] lengths) {
        String a = "model.layers." + layer + ".self_attn.";
        int heads = c.numAttentionHeads();
        int nope = c.qkNopeHeadDim();
        int ropeDim = c.qkRopeHeadDim();
        int qk = c.qkHeadDim();
        int vDim = c.vHeadDim();
        int rank = c.kvLoraRank();
        int n = x.length;
        double[][] q = new double[n][];
        double[][] sharedKey = new double[n][];
        double[][] keys = new double[n][];
        java.util.Arrays.fill(maxLogits[layer], Double.NEGATIVE_INFINITY);
        int row = 0;
        for (int length : lengths) {
            for (int pos = 0; pos < length; pos++, row++) {
                q[row] = c.hasQLora()
                        ? linear(a + "q_b_proj.weight", norm(linear(a + "q_a_proj.weight", x[row]), a + "q_a_layernorm.weight", ModelConfig.LATENT_NORM_EPS))
                        : linear(a + "q_proj.weight", x[row]);
                for (int h = 0; h < heads; h++) {
                    rotate(q[row], h * qk + nope, pos);
                }
                double[] kv = linear(a + "kv_a_proj_with_mqa.weight", x[row]);
                double[] latent = norm(java.util.Arrays.copyOf(kv, rank), a + "kv_a_layernorm.weight", ModelConfig.LATENT_NORM_EPS);
                sharedKey[row] = java.util.Arrays.copyOfRange(kv, rank, rank + ropeDim);
                rotate(sharedKey[row], 0, pos);
                keys[row] = linear(a + "kv_b_proj.weight", latent);
            }
        }
        double[][] out = new double[n][];
        int first = 0;
        for (int length : lengths) {
            for (int i = 0; i < length; i++) {
                int r = first + i;
                double[] attended = new double[heads * vDim];
                for (int h = 0; h < heads; h++) {
                    double[] s = new double[i + 1];
                    double max = Double.NEGATIVE_INFINITY;
                    for (int j = 0; j <= i; j++) {
                        double dot = 0;
                        for (int d = 0; d < nope; d++) {
                            dot += q[r][h * qk + d] * keys[first + j][h * (nope + vDim) + d];
                        }
                        for (int d = 0; d < ropeDim; d++) {
                            dot += q[r][h * qk + nope + d] * sharedKey[first + j][d];
                        }
                        s[j] = dot * c.softmaxScale();
                        max = Math.max(max, s[j]);
                    }
                    maxLogits[layer][h] = Math.max(maxLogits[layer][h], max);
                    double sum = 0;
                    for (int j = 0; j <= i; j++) {
                        s[j] = Math.exp(s[j] - max);
                        sum += s[j];
                    }
                    for (int j = 0; j <= i; j++) {
                        for (int d = 0; d < vDim; d++) {
                            attended[h * vDim + d] += s[j] / sum * keys[first + j][h * (nope + vDim) + nope + d];
                        }
                    }
                }
                out[r] = linear(a + "o_proj.weight", attended);
            }
            first += length;
        }
        return out;
    }

    /** The noaux_tc mixture: the chosen experts weighted by their unbiased sigmoid scores, plus the shared experts. */
    double[] moe(String m, double[] x) {
        int[] chosen = chosen(m, x);
        double[] logits = linear(m + "gate.weight", x);
        double[] score = new double[logits.length];
        double sum = 0;
        for (int e : chosen) {
            score[e] = 1 / (1 + Math.exp(-logits[e]));
            sum += score[e];
        }
        double[] out = c.nSharedExperts() > 0 ? swiGlu(m + "shared_experts.", x) : new double[x.length];
        for (int e : chosen) {
            double weight = (c.normTopkProb() ? score[e] / (sum + 1e-20) : score[e]) * c.routedScalingFactor();
            double[] y = swiGlu(m + "experts." + e + ".", x);
            for (int i = 0; i < out.length; i++) {
                out[i] += weight * y[i];
            }
        }
        return out;
    }

    /**
     * The experts chosen for x, best first: by sigmoid score plus correction bias; with groups, only the
     * {@code topk_group} groups of the best sums of two are candidates (the others' choice values masked to zero, as
     * Hugging Face does).
     */
    int[] chosen(String m, double[] x) {
        int experts = c.nRoutedExperts();
        double[] logits = linear(m + "gate.weight", x);
        double[] bias = p.get(m + "gate.e_score_correction_bias");
        double[] choice = new double[experts];
        for (int e = 0; e < experts; e++) {
            choice[e] = 1 / (1 + Math.exp(-logits[e])) + bias[e];
        }
        int groups = c.nGroup();
        int size = experts / groups;
        if (c.topkGroup() < groups) {
            double[] groupScore = new double[groups];
            for (int g = 0; g < groups; g++) {
                for (int b : top(java.util.Arrays.copyOfRange(choice, g * size, (g + 1) * size), Math.min(2, size))) {
                    groupScore[g] += choice[g * size + b];
                }
            }
            boolean[] kept = new boolean[groups];
            for (int g : top(groupScore, c.topkGroup())) {
                kept[g] = true;
            }
            for (int e = 0; e < experts; e++) {
                if (!kept[e / size]) {
                    choice[e] = 0.0;
                }
            }
        }
        return top(choice, c.numExpertsPerTok());
    }

    double[] swiGlu(String m, double[] x) {
        double[] g = linear(m + "gate_proj.weight", x);
        double[] u = linear(m + "up_proj.weight", x);
        for (int i = 0; i < g.length; i++) {
            g[i] = g[i] / (1 + Math.exp(-g[i])) * u[i];
        }
        return linear(m + "down_proj.weight", g);
    }

    double[] norm(double[] x, String weight, double eps) {
        double[] w = p.get(weight);
        double squares = 0;
        for (double v : x) {
            squares += v * v;
        }
        double r = 1 / Math.sqrt(squares / x.length + eps);
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            y[i] = w[i] * x[i] * r;
        }
        return y;
    }

    double[] linear(String weight, double[] x) {
        double[] w = p.get(weight);
        int rows = w.length / x.length;
        double[] y = new double[rows];
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            for (int i = 0; i < x.length; i++) {
                sum += w[r * x.length + i] * x[i];
            }
            y[r] = sum;
        }
        return y;
    }

    /** RoPE at {@code pos} on {@code v[offset .. offset + rope dim)}: adjacent pairs, or halves when the config says so. */
    void rotate(double[] v, int offset, int pos) {
        int half = c.qkRopeHeadDim() / 2;
        float[] cos = new float[half];
        float[] sin = new float[half];
        rope.angles(pos, cos, sin);
        for (int i = 0; i < half; i++) {
            int a = c.ropeInterleave() ? offset + 2 * i : offset + i;
            int b = c.ropeInterleave() ? a + 1 : a + half;
            double x0 = v[a];
            double x1 = v[b];
            v[a] = x0 * cos[i] - x1 * sin[i];
            v[b] = x0 * sin[i] + x1 * cos[i];
        }
    }

    private static double[] add(double[] a, double[] b) {
        double[] y = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            y[i] = a[i] + b[i];
        }
        return y;
    }

    /** Indices of the k largest values, largest first, ties to the lower index. */
    static int[] top(double[] v, int k) {
        int[] best = new int[k];
        boolean[] taken = new boolean[v.length];
        for (int i = 0; i < k; i++) {
            int b = -1;
            for (int j = 0; j < v.length; j++) {
                if (!taken[j] && (b < 0 || v[j] > v[b])) {
                    b = j;
                }
            }
            taken[b] = true;
            best[i] = b;
        }
        return best;
    }
}
