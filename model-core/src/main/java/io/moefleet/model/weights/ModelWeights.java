package io.moefleet.model.weights;

import io.moefleet.model.ModelConfig;
import io.moefleet.model.safetensors.TensorInfo;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;

/**
 * Every weight of the text model, bound to the checkpoint's mapped tensors (nothing is copied but norms, biases and
 * quantisation scales), each checked against the shape {@code config.json} implies.
 */
public record ModelWeights(Linear embedding, LayerWeights[] layers, float[] finalNorm, Linear lmHead) {

    /** Receives how many bytes of weights have been bound (and paged in), to draw a progress bar. */
    @FunctionalInterface
    public interface LoadProgress {
        LoadProgress NONE = (done, total) -> {};

        void update(long bytesDone, long bytesTotal);
    }

    public static ModelWeights load(Checkpoint checkpoint) {
        return load(checkpoint, LoadProgress.NONE);
    }

    public static ModelWeights load(Checkpoint checkpoint, LoadProgress progress) {
        return new Loader(checkpoint, progress, checkpoint::resident).load();
    }

    /**
     * Every weight, but only the tensors {@code computedHere} names are read now (copied where the kernels read them
     * fastest: {@link Checkpoint#resident}); the others are bound to the file's mapping, unread. A router whose
     * attention and routed experts run elsewhere keeps them so, rather than holding a whole model's experts.
     */
    public static ModelWeights load(Checkpoint checkpoint, LoadProgress progress, java.util.function.Predicate<String> computedHere) {
        return new Loader(checkpoint, progress, t -> computedHere.test(t.name()) ? checkpoint.resident(t) : t.data()).load();
    }

    /** Decides which routed experts an expert shard holds: {@code (layer, expert) -> owned}. */
    @FunctionalInterface
    public interface ExpertSelection {
        boolean holds(int layer, int expert);
    }

    /**
     * Only the routed experts {@code selection} names, bound and paged in: what an expert shard loads. Indexed
     * [layer][expert]; dense layers and experts held elsewhere are null. Nothing else of the checkpoint is read.
     */
    public static MlpWeights[][] loadExperts(Checkpoint checkpoint, ExpertSelection selection, LoadProgress progress) {
        return new Loader(checkpoint, progress, checkpoint::resident).experts(selection);
    }

    /** As {@link #loadExperts(Checkpoint, ExpertSelection, LoadProgress)}, their copies freed when {@code memory} closes. */
    public static MlpWeights[][] loadExperts(Checkpoint checkpoint, ExpertSelection selection, Arena memory) {
        return new Loader(checkpoint, LoadProgress.NONE, checkpoint.residentIn(memory)).experts(selection);
    }

    /**
     * Only each layer's attention weights (projections, latent norms), bound and paged in: what an attention instance
     * loads. Indexed by layer.
     */
    public static AttentionWeights[] loadAttention(Checkpoint checkpoint, LoadProgress progress) {
        return new Loader(checkpoint, progress, checkpoint::resident).attentionLayers();
    }

    /** How projections are held once loaded. */
    public enum Quantize {
        /** As the checkpoint stores them: exact. */
        NONE,
        /** Re-quantized to 8-bit blocks at load ({@link Q8BlockLinear}): fewer bytes per token, a little less exact. */
        Q8;

        public static Quantize parse(String s) {
            return switch (s.toLowerCase(java.util.Locale.ROOT)) {
                case "none" -> NONE;
                case "q8" -> Q8;
                default -> throw new IllegalArgumentException("unknown quantization '" + s + "'; valid: none, q8");
            };
        }
    }

    /**
     * The weights with every projection (attention, MLPs, experts, lm_head) in {@code quantize}'s form. The router and
     * the embeddings stay as stored: expert choice is where low precision flips outcomes.
     */
    public ModelWeights quantized(Quantize quantize) {
        if (quantize == Quantize.NONE) {
            return this;
        }
        Arena arena = Arena.ofAuto();                       // freed with the weights that use it
        SegmentAllocator memory = HugePageMemory.preferred(arena);
        java.util.function.UnaryOperator<Linear> q = w -> Q8BlockLinear.quantize(w, memory);
        LayerWeights[] quantizedLayers = new LayerWeights[layers.length];
        for (int i = 0; i < layers.length; i++) {
            LayerWeights l = layers[i];
            AttentionWeights a = l.attention();
            AttentionWeights qa = new AttentionWeights(map(a.qA(), q), a.qANorm(), map(a.qB(), q), map(a.q(), q),
                    q.apply(a.kvA()), a.kvANorm(), q.apply(a.kvB()), q.apply(a.o()));
            MoeWeights moe = l.moe();
            MoeWeights qm = null;
            if (moe != null) {
                MlpWeights[] experts = new MlpWeights[moe.experts().length];
                for (int e = 0; e < experts.length; e++) {
                    experts[e] = mlp(moe.experts()[e], q);
                }
                qm = new MoeWeights(moe.router(), moe.correctionBias(), experts, moe.shared() == null ? null : mlp(moe.shared(), q));
            }
            quantizedLayers[i] = new LayerWeights(l.inputNorm(), qa, l.postAttentionNorm(),
                    l.denseMlp() == null ? null : mlp(l.denseMlp(), q), qm);
        }
        return new ModelWeights(embedding, quantizedLayers, finalNorm, q.apply(lmHead));
    }

    private static Linear map(Linear w, java.util.function.UnaryOperator<Linear> q) {
        return w == null ? null : q.apply(w);
    }

    private static MlpWeights mlp(MlpWeights m, java.util.function.UnaryOperator<Linear> q) {
        return new MlpWeights(q.apply(m.gate()), q.apply(m.up()), q.apply(m.down()));
    }

    private static final class Loader {
        private final Checkpoint checkpoint;
        private final ModelConfig c;
        private final TensorBinder binder;

        Loader(Checkpoint checkpoint, LoadProgress progress, java.util.function.Function<TensorInfo, MemorySegment> resident) {
            this.checkpoint = checkpoint;
            this.c = checkpoint.config();
            this.binder = new TensorBinder(checkpoint::tensor, name -> checkpoint.find(name).isPresent(), resident, c.quantization(),
                    progress, checkpoint.tensors().values().stream().mapToLong(t -> t.data().byteSize()).sum());
        }

        ModelWeights load() {
            Linear embedding = binder.matrix("model.embed_tokens.weight", c.vocabSize(), c.hiddenSize(), "vocab_size x hidden_size");
            LayerWeights[] layers = new LayerWeights[c.numHiddenLayers()];
            for (int i = 0; i < layers.length; i++) {
                layers[i] = layer(i);
            }
            float[] finalNorm = binder.vector("model.norm.weight", c.hiddenSize());
            Linear lmHead = c.tieWordEmbeddings() && checkpoint.find("lm_head.weight").isEmpty()
                    ? embedding
                    : binder.matrix("lm_head.weight", c.vocabSize(), c.hiddenSize(), "vocab_size x hidden_size");
            binder.finished();
            return new ModelWeights(embedding, layers, finalNorm, lmHead);
        }

        AttentionWeights[] attentionLayers() {
            AttentionWeights[] layers = new AttentionWeights[c.numHiddenLayers()];
            for (int i = 0; i < layers.length; i++) {
                layers[i] = attention("model.layers." + i + ".self_attn.");
            }
            binder.finished();
            return layers;
        }

        MlpWeights[][] experts(ExpertSelection selection) {
            MlpWeights[][] experts = new MlpWeights[c.numHiddenLayers()][];
            for (int layer = 0; layer < experts.length; layer++) {
                if (!c.isMoeLayer(layer)) {
                    continue;
                }
                experts[layer] = new MlpWeights[c.nRoutedExperts()];
                for (int e = 0; e < c.nRoutedExperts(); e++) {
                    if (selection.holds(layer, e)) {
                        experts[layer][e] = mlp("model.layers." + layer + ".mlp.experts." + e + ".", c.moeIntermediateSize(),
                                "moe_intermediate_size");
                    }
                }
            }
            binder.finished();
            return experts;
        }

        private LayerWeights layer(int i) {
            String p = "model.layers." + i + ".";
            AttentionWeights attention = attention(p + "self_attn.");
            float[] inputNorm = binder.vector(p + "input_layernorm.weight", c.hiddenSize());
            float[] postNorm = binder.vector(p + "post_attention_layernorm.weight", c.hiddenSize());
            if (!c.isMoeLayer(i)) {
                return new LayerWeights(inputNorm, attention, postNorm,
                        mlp(p + "mlp.", c.intermediateSize(), "intermediate_size"), null);
            }
            MlpWeights[] experts = new MlpWeights[c.nRoutedExperts()];
            for (int e = 0; e < experts.length; e++) {
                experts[e] = mlp(p + "mlp.experts." + e + ".", c.moeIntermediateSize(), "moe_intermediate_size");
            }
            MlpWeights shared = c.nSharedExperts() == 0 ? null
                    : mlp(p + "mlp.shared_experts.", c.sharedIntermediateSize(), "moe_intermediate_size x n_shared_experts");
            Linear router = binder.matrix(p + "mlp.gate.weight", c.nRoutedExperts(), c.hiddenSize(), "n_routed_experts x hidden_size");
            float[] bias = binder.vector(p + "mlp.gate.e_score_correction_bias", c.nRoutedExperts());
            return new LayerWeights(inputNorm, attention, postNorm, null, new MoeWeights(router, bias, experts, shared));
        }

        private AttentionWeights attention(String p) {
            int heads = c.numAttentionHeads();
            int hidden = c.hiddenSize();
            Linear qA = null, qB = null, q = null;
            float[] qANorm = null;
            if (c.hasQLora()) {
                qA = binder.linear(p + "q_a_proj", c.qLoraRank(), hidden, "q_lora_rank x hidden_size");
                qANorm = binder.vector(p + "q_a_layernorm.weight", c.qLoraRank());
                qB = binder.linear(p + "q_b_proj", heads * c.qkHeadDim(), c.qLoraRank(),
                        "num_attention_heads*(qk_nope_head_dim+qk_rope_head_dim) x q_lora_rank");
            } else {
                q = binder.linear(p + "q_proj", heads * c.qkHeadDim(), hidden,
                        "num_attention_heads*(qk_nope_head_dim+qk_rope_head_dim) x hidden_size");
            }
            Linear kvA = binder.linear(p + "kv_a_proj_with_mqa", c.latentWidth(), hidden, "(kv_lora_rank+qk_rope_head_dim) x hidden_size");
            float[] kvANorm = binder.vector(p + "kv_a_layernorm.weight", c.kvLoraRank());
            Linear kvB = binder.linear(p + "kv_b_proj", heads * (c.qkNopeHeadDim() + c.vHeadDim()), c.kvLoraRank(),
                    "num_attention_heads*(qk_nope_head_dim+v_head_dim) x kv_lora_rank");
            Linear o = binder.linear(p + "o_proj", hidden, heads * c.vHeadDim(), "hidden_size x num_attention_heads*v_head_dim");
            return new AttentionWeights(qA, qANorm, qB, q, kvA, kvANorm, kvB, o);
        }

        private MlpWeights mlp(String p, int intermediate, String intermediateName) {
            int hidden = c.hiddenSize();
            return new MlpWeights(
                    binder.linear(p + "gate_proj", intermediate, hidden, intermediateName + " x hidden_size"),
                    binder.linear(p + "up_proj", intermediate, hidden, intermediateName + " x hidden_size"),
                    binder.linear(p + "down_proj", hidden, intermediate, "hidden_size x " + intermediateName));
        }
    }
}
