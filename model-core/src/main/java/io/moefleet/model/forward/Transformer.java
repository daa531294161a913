package io.moefleet.model.forward;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.MatMul;
import io.moefleet.model.compute.VectorMath;
import io.moefleet.model.compute.Workers;
import io.moefleet.model.weights.LayerWeights;
import io.moefleet.model.weights.ModelWeights;
import io.moefleet.model.weights.MoeWeights;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/**
 * The DeepseekV3ForCausalLM forward pass in float32, and the one entry point prefill and decode share: {@link #step}.
 * Every projection runs as one product over the step's tokens; the kernels sum each (row, token) pair the same way
 * whatever the batch, and MoE outputs combine in expert-index order, so a sequence's logits are bitwise the same
 * alone or in any batch. Not thread-safe: one step at a time (the workers parallelise inside it).
 */
public final class Transformer {

    private final ModelConfig config;
    private final ModelWeights weights;
    private final MatMul matMul;
    private final AttentionBackend attention;
    private final ExpertRouter[] routers;
    private final SwiGlu swiGlu;
    private final ExpertBackend experts;
    private ForwardObserver observer = ForwardObserver.NONE;

    // per-step rows, grown to the largest step seen
    private float[][] normed = new float[0][];
    private float[][] delta = new float[0][];
    private float[][] sharedOut = new float[0][];
    private float[][] routerLogits = new float[0][];

    public Transformer(ModelConfig config, ModelWeights weights, Workers workers) {
        this(config, weights, workers, null, null);
    }

    /**
     * A model whose attention runs on {@code attention} and whose routed experts run on {@code experts} (null: in this
     * process, from {@code weights}); the rest of the forward pass, the shared experts included, runs here.
     */
    public Transformer(ModelConfig config, ModelWeights weights, Workers workers, AttentionBackend attention, ExpertBackend experts) {
        this.config = config;
        this.weights = weights;
        this.matMul = new MatMul(workers);
        this.attention = attention != null ? attention
                : new LocalAttention(config, layer -> weights.layers()[layer].attention(), matMul);
        this.routers = new ExpertRouter[config.numHiddenLayers()];
        for (int i = 0; i < routers.length; i++) {
            MoeWeights moe = weights.layers()[i].moe();
            routers[i] = moe != null ? new ExpertRouter(config, moe.correctionBias()) : null;
        }
        this.swiGlu = new SwiGlu(matMul);
        this.experts = experts != null ? experts : new LocalExperts(
                layer -> weights.layers()[layer].moe().experts(), config.hiddenSize(), matMul);
    }

    /** A model computed on the calling thread alone. */
    public Transformer(ModelConfig config, ModelWeights weights) {
        this(config, weights, new Workers(1));
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

    /** Frees what the attention backend holds for a finished or cancelled sequence. */
    public void release(Sequence sequence) {
        attention.release(sequence);
    }

    public Sequence newSequence() {
        return new Sequence(config.numHiddenLayers(), config.latentWidth());
    }

    /**
     * Runs one step over a batch: each chunk's tokens go through every layer, their latents join their sequence's
     * cache, and the chunk's logits come back (every token's, or the last token's), in chunk order.
     */
    public List<float[][]> step(List<StepChunk> chunks) {
        int total = validate(chunks);
        int hidden = config.hiddenSize();
        grow(total);
        float[][] h = new float[total][hidden];
        int row = 0;
        for (StepChunk chunk : chunks) {
            for (int token : chunk.tokens()) {
                weights.embedding().row(token, h[row++], 0);
            }
        }
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            LayerWeights lw = weights.layers()[layer];
            normalise(h, total, lw.inputNorm(), config.rmsNormEps());
            attention.attend(layer, chunks, normed, total, delta);
            addInto(h, delta, total);
            normalise(h, total, lw.postAttentionNorm(), config.rmsNormEps());
            if (lw.denseMlp() != null) {
                swiGlu.apply(lw.denseMlp(), normed, total, delta);
            } else {
                mixtureOfExperts(layer, lw.moe(), chunks, total);
            }
            addInto(h, delta, total);
        }
        return logits(chunks, h);
    }

    /**
     * Routes every token, dispatches the routed experts to the expert backend, computes the shared experts meanwhile,
     * then adds the routed outputs and after them the shared ones (always in that order: the sum is the same wherever
     * the routed experts ran).
     */
    private void mixtureOfExperts(int layer, MoeWeights moe, List<StepChunk> chunks, int total) {
        matMul.multiply(moe.router(), normed, total, routerLogits);
        Routing[] routings = new Routing[total];
        int row = 0;
        for (StepChunk chunk : chunks) {
            for (int i = 0; i < chunk.tokens().length; i++, row++) {
                routings[row] = routers[layer].route(routerLogits[row]);
                observer.onRouting(layer, chunk.start() + i, routings[row]);
            }
        }
        for (int t = 0; t < total; t++) {
            Arrays.fill(delta[t], 0f);
        }
        ExpertBackend.Combine routed = experts.dispatch(layer, normed, total, routings);
        if (moe.shared() != null) {
            swiGlu.apply(moe.shared(), normed, total, sharedOut);   // while remote shards compute the routed experts
        }
        routed.addInto(delta);
        if (moe.shared() != null) {
            for (int t = 0; t < total; t++) {
                VectorMath.axpy(1f, sharedOut[t], 0, delta[t], 0, config.hiddenSize());
            }
        }
    }

    private List<float[][]> logits(List<StepChunk> chunks, float[][] h) {
        List<float[]> wanted = new ArrayList<>();
        int row = 0;
        for (StepChunk chunk : chunks) {
            int n = chunk.tokens().length;
            chunk.sequence().setLength(chunk.end());
            for (int i = chunk.allLogits() ? 0 : n - 1; i < n; i++) {
                float[] x = new float[config.hiddenSize()];
                RmsNorm.apply(h[row + i], 0, x.length, weights.finalNorm(), config.rmsNormEps(), x, 0);
                wanted.add(x);
            }
            row += n;
        }
        float[][] out = new float[wanted.size()][config.vocabSize()];
        matMul.multiply(weights.lmHead(), wanted.toArray(new float[0][]), wanted.size(), out);
        List<float[][]> logits = new ArrayList<>(chunks.size());
        int next = 0;
        for (StepChunk chunk : chunks) {
            int rows = chunk.allLogits() ? chunk.tokens().length : 1;
            logits.add(Arrays.copyOfRange(out, next, next + rows));
            next += rows;
        }
        return logits;
    }

    private void normalise(float[][] h, int total, float[] weight, double eps) {
        for (int r = 0; r < total; r++) {
            RmsNorm.apply(h[r], 0, h[r].length, weight, eps, normed[r], 0);
        }
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

    private void grow(int total) {
        if (normed.length >= total) {
            return;
        }
        int n = Math.max(total, normed.length * 2);
        int hidden = config.hiddenSize();
        normed = new float[n][hidden];
        delta = new float[n][hidden];
        sharedOut = new float[n][hidden];
        routerLogits = new float[n][Math.max(config.nRoutedExperts(), 1)];
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
