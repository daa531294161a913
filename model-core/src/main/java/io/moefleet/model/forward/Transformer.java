package io.moefleet.model.forward;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.weights.LayerWeights;
import io.moefleet.model.weights.ModelWeights;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The DeepseekV3ForCausalLM forward pass in float32, and the one entry point prefill and decode share: {@link #step}.
 * Every token is computed on its own (no reduction spans tokens but attention over its own sequence), so a sequence's
 * logits are bitwise the same alone or in any batch. Not thread-safe: one step at a time.
 */
public final class Transformer {

    private final ModelConfig config;
    private final ModelWeights weights;
    private final Rope rope;
    private final MlaAttention[] attention;
    private final ExpertRouter[] routers;
    private final SwiGlu swiGlu;
    private final float[] expertOut;
    private ForwardObserver observer = ForwardObserver.NONE;

    public Transformer(ModelConfig config, ModelWeights weights) {
        this.config = config;
        this.weights = weights;
        this.rope = new Rope(config);
        int layers = config.numHiddenLayers();
        this.attention = new MlaAttention[layers];
        this.routers = new ExpertRouter[layers];
        for (int i = 0; i < layers; i++) {
            LayerWeights lw = weights.layers()[i];
            attention[i] = new MlaAttention(config, lw.attention(), rope);
            routers[i] = lw.moe() != null ? new ExpertRouter(config, lw.moe()) : null;
        }
        this.swiGlu = new SwiGlu(Math.max(config.intermediateSize(), Math.max(config.moeIntermediateSize(), config.sharedIntermediateSize())));
        this.expertOut = new float[config.hiddenSize()];
    }

    public ModelConfig config() {
        return config;
    }

    public ModelWeights weights() {
        return weights;
    }

    public void setObserver(ForwardObserver observer) {
        this.observer = observer == null ? ForwardObserver.NONE : observer;
    }

    public Sequence newSequence() {
        return new Sequence(new LatentCache(config.numHiddenLayers(), config.latentWidth(), 64));
    }

    /**
     * Runs one step over a batch: each chunk's tokens go through every layer, their latents join their sequence's
     * cache, and the chunk's logits come back (every token's, or the last token's), in chunk order.
     */
    public List<float[][]> step(List<StepChunk> chunks) {
        int total = validate(chunks);
        int hidden = config.hiddenSize();
        float[][] h = new float[total][];
        float[][] normed = new float[total][hidden];
        float[][] delta = new float[total][hidden];
        RopeTable[] angles = new RopeTable[chunks.size()];
        int row = 0;
        for (int ci = 0; ci < chunks.size(); ci++) {
            StepChunk chunk = chunks.get(ci);
            angles[ci] = new RopeTable(rope, config.qkRopeHeadDim() / 2, chunk.start(), chunk.tokens().length);
            for (int token : chunk.tokens()) {
                h[row] = new float[hidden];
                weights.embedding().row(token, h[row++], 0);
            }
        }
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            LayerWeights lw = weights.layers()[layer];
            for (int r = 0; r < total; r++) {
                RmsNorm.apply(h[r], 0, hidden, lw.inputNorm(), config.rmsNormEps(), normed[r], 0);
            }
            row = 0;
            for (int ci = 0; ci < chunks.size(); ci++) {
                StepChunk chunk = chunks.get(ci);
                int n = chunk.tokens().length;
                attention[layer].forward(chunk.sequence().cache(), layer, chunk.start(), normed, row, n, angles[ci], delta);
                row += n;
            }
            addInto(h, delta, total);
            for (int r = 0; r < total; r++) {
                RmsNorm.apply(h[r], 0, hidden, lw.postAttentionNorm(), config.rmsNormEps(), normed[r], 0);
            }
            row = 0;
            for (StepChunk chunk : chunks) {
                for (int i = 0; i < chunk.tokens().length; i++, row++) {
                    feedForward(layer, lw, chunk.start() + i, normed[row], delta[row]);
                }
            }
            addInto(h, delta, total);
        }
        List<float[][]> logits = new ArrayList<>(chunks.size());
        row = 0;
        for (StepChunk chunk : chunks) {
            int n = chunk.tokens().length;
            chunk.sequence().setLength(chunk.end());
            int first = chunk.allLogits() ? 0 : n - 1;
            float[][] out = new float[n - first][];
            for (int i = first; i < n; i++) {
                out[i - first] = logits(h[row + i], normed[row + i]);
            }
            logits.add(out);
            row += n;
        }
        return logits;
    }

    private void feedForward(int layer, LayerWeights lw, int position, float[] x, float[] out) {
        if (lw.denseMlp() != null) {
            swiGlu.apply(lw.denseMlp(), x, out);
            return;
        }
        Routing routing = routers[layer].route(x);
        observer.onRouting(layer, position, routing);
        java.util.Arrays.fill(out, 0f);
        for (int k = 0; k < routing.experts().length; k++) {
            swiGlu.apply(lw.moe().experts()[routing.experts()[k]], x, expertOut);
            float weight = routing.weights()[k];
            for (int i = 0; i < out.length; i++) {
                out[i] += weight * expertOut[i];
            }
        }
        if (lw.moe().shared() != null) {
            swiGlu.apply(lw.moe().shared(), x, expertOut);
            for (int i = 0; i < out.length; i++) {
                out[i] += expertOut[i];
            }
        }
    }

    private float[] logits(float[] hidden, float[] scratch) {
        RmsNorm.apply(hidden, 0, hidden.length, weights.finalNorm(), config.rmsNormEps(), scratch, 0);
        float[] out = new float[config.vocabSize()];
        weights.lmHead().matvec(scratch, out);
        return out;
    }

    private static void addInto(float[][] h, float[][] delta, int rows) {
        for (int r = 0; r < rows; r++) {
            float[] a = h[r];
            float[] d = delta[r];
            for (int i = 0; i < a.length; i++) {
                a[i] += d[i];
            }
        }
    }

    /** Checks the batch before any state changes, so a bad chunk fails the step without touching any sequence. */
    private int validate(List<StepChunk> chunks) {
        Set<Sequence> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        int total = 0;
        for (StepChunk chunk : chunks) {
            if (!seen.add(chunk.sequence())) {
                throw new IllegalArgumentException("a sequence appears twice in one step");
            }
            if (chunk.tokens().length == 0) {
                throw new IllegalArgumentException("a chunk has no tokens");
            }
            if (chunk.start() < 0 || chunk.start() > chunk.sequence().length()) {
                throw new IllegalArgumentException("chunk starts at position " + chunk.start() + " but its sequence has "
                        + chunk.sequence().length() + " cached positions");
            }
            if (chunk.end() > config.maxPositionEmbeddings()) {
                throw new IllegalArgumentException("chunk ends at position " + chunk.end() + ", past the context of "
                        + config.maxPositionEmbeddings() + " tokens (max_position_embeddings)");
            }
            for (int t : chunk.tokens()) {
                if (t < 0 || t >= config.vocabSize()) {
                    throw new IllegalArgumentException("token id " + t + " is outside the vocabulary [0, " + config.vocabSize() + ")");
                }
            }
            total += chunk.tokens().length;
        }
        return total;
    }
}
