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
    private volatile int microBatches = 1;   // set from another thread than the stepping one
    // each micro-batch's rows, grown to the largest it has seen
    private final StepRows[] rows = {new StepRows(), new StepRows()};

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

    /** Micro-batches per step of two or more sequences ({@link #setMicroBatches}). */
    public int microBatches() {
        return microBatches;
    }

    /**
     * Splits each step of two or more sequences into two micro-batches run a layer phase apart, so that one's remote
     * calls (attention, routed experts) overlap the other's work and calls; 1 runs the step whole. Each token's math is
     * the same either way (every kernel is batch-invariant), so the logits are bitwise the same.
     */
    public void setMicroBatches(int count) {
        if (count != 1 && count != 2) {
            throw new IllegalArgumentException("micro-batches per step: 1 or 2, not " + count);
        }
        this.microBatches = count;
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
     *
     * <p>With two micro-batches, per layer: A finishes its previous layer and sends its attention; B does the same
     * (waiting for its experts while A's attention is out); A takes its attention, routes, sends its experts and
     * computes its shared experts (B's attention is out); B likewise (A's experts are out). One micro-batch is the
     * same sequence of phases, with nothing to overlap.
     */
    public List<float[][]> step(List<StepChunk> chunks) {
        int total = validate(chunks);
        attention.beginStep(chunks);
        List<MicroBatch> parts = split(chunks, total);
        int layers = config.numHiddenLayers();
        for (int layer = 0; layer < layers; layer++) {
            for (MicroBatch part : parts) {
                if (layer > 0) {
                    part.finishLayer();
                }
                part.sendAttention(layer);
            }
            for (MicroBatch part : parts) {
                part.takeAttentionAndStartFeedForward(layer);
            }
        }
        float[][] h = new float[total][];
        int row = 0;
        for (MicroBatch part : parts) {
            part.finishLayer();
            System.arraycopy(part.h, 0, h, row, part.total);
            row += part.total;
        }
        return logits(chunks, h);
    }

    /** The step's chunks whole, or in two halves of about equal tokens (each at least one chunk) when asked for. */
    private List<MicroBatch> split(List<StepChunk> chunks, int total) {
        if (microBatches == 1 || chunks.size() < 2) {
            return List.of(new MicroBatch(chunks, total, rows[0]));
        }
        int cut = 1;
        int first = chunks.get(0).tokens().length;
        while (cut < chunks.size() - 1 && first + chunks.get(cut).tokens().length <= total / 2) {
            first += chunks.get(cut++).tokens().length;
        }
        return List.of(new MicroBatch(chunks.subList(0, cut), first, rows[0]),
                new MicroBatch(chunks.subList(cut, chunks.size()), total - first, rows[1]));
    }

    /** A micro-batch's reusable rows: normalised states, a layer's output, the shared experts' output, gate logits. */
    private final class StepRows {
        float[][] normed = new float[0][];
        float[][] delta = new float[0][];
        float[][] sharedOut = new float[0][];
        float[][] routerLogits = new float[0][];

        void grow(int total) {
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
    }

    /** Some of a step's chunks on their way through the layers; phases as {@link #step} runs them. */
    private final class MicroBatch {
        final List<StepChunk> chunks;
        final int total;
        final float[][] h;
        final StepRows r;
        private int layer = -1;
        private AttentionBackend.Pending attended;
        private ExpertBackend.Combine routed;
        private boolean shared;

        MicroBatch(List<StepChunk> chunks, int total, StepRows rows) {
            this.chunks = chunks;
            this.total = total;
            this.r = rows;
            rows.grow(total);
            this.h = new float[total][config.hiddenSize()];
            int row = 0;
            for (StepChunk chunk : chunks) {
                for (int token : chunk.tokens()) {
                    weights.embedding().row(token, h[row++], 0);
                }
            }
        }

        /** Input norm, then the attention call out (or computed here, for a local backend). */
        void sendAttention(int layer) {
            this.layer = layer;
            LayerWeights lw = weights.layers()[layer];
            normalise(h, total, lw.inputNorm(), r.normed);
            attended = attention.begin(layer, chunks, r.normed, total, r.delta);
        }

        /**
         * The attention's output in, residual, post-attention norm; then the dense MLP, or the routed experts
         * dispatched and the shared experts computed while they run.
         */
        void takeAttentionAndStartFeedForward(int layer) {
            attended.await();
            attended = null;
            addInto(h, r.delta, total);
            LayerWeights lw = weights.layers()[layer];
            normalise(h, total, lw.postAttentionNorm(), r.normed);
            if (lw.denseMlp() != null) {
                swiGlu.apply(lw.denseMlp(), r.normed, total, r.delta);
                return;
            }
            MoeWeights moe = lw.moe();
            matMul.multiply(moe.router(), r.normed, total, r.routerLogits);
            Routing[] routings = new Routing[total];
            int row = 0;
            for (StepChunk chunk : chunks) {
                for (int i = 0; i < chunk.tokens().length; i++, row++) {
                    routings[row] = routers[layer].route(r.routerLogits[row]);
                    observer.onRouting(layer, chunk.start() + i, routings[row]);
                }
            }
            shared = moe.shared() != null;
            if (shared && experts instanceof LocalExperts local) {
                routed = local.dispatchWithShared(layer, r.normed, total, routings, moe.shared(), r.sharedOut);
            } else {
                routed = experts.dispatch(layer, r.normed, total, routings);
                if (shared) {
                    swiGlu.apply(moe.shared(), r.normed, total, r.sharedOut);   // while remote shards compute the routed experts
                }
            }
        }

        /**
         * The layer's feed-forward output added to the residual: for MoE, the routed experts' outputs and after them
         * the shared ones (always in that order: the sum is the same wherever the routed experts ran).
         */
        void finishLayer() {
            if (routed != null) {
                for (int t = 0; t < total; t++) {
                    Arrays.fill(r.delta[t], 0f);
                }
                routed.addInto(r.delta);
                routed = null;
                if (shared) {
                    for (int t = 0; t < total; t++) {
                        VectorMath.axpy(1f, r.sharedOut[t], 0, r.delta[t], 0, config.hiddenSize());
                    }
                }
            }
            addInto(h, r.delta, total);
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

    private void normalise(float[][] h, int total, float[] weight, float[][] normed) {
        for (int r = 0; r < total; r++) {
            RmsNorm.apply(h[r], 0, h[r].length, weight, config.rmsNormEps(), normed[r], 0);
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
