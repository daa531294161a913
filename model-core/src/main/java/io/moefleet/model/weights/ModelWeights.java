package io.moefleet.model.weights;

import io.moefleet.model.CheckpointException;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.Quantization;
import io.moefleet.model.safetensors.DType;
import io.moefleet.model.safetensors.TensorInfo;
import java.util.Arrays;
import java.util.Optional;

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
        return new Loader(checkpoint, progress).load();
    }

    private static final class Loader {
        private final Checkpoint checkpoint;
        private final ModelConfig c;
        private final LoadProgress progress;
        private final long totalBytes;
        private long doneBytes;

        Loader(Checkpoint checkpoint, LoadProgress progress) {
            this.checkpoint = checkpoint;
            this.c = checkpoint.config();
            this.progress = progress;
            this.totalBytes = checkpoint.tensors().values().stream().mapToLong(t -> t.data().byteSize()).sum();
        }

        ModelWeights load() {
            Linear embedding = matrix("model.embed_tokens.weight", c.vocabSize(), c.hiddenSize(), "vocab_size x hidden_size");
            LayerWeights[] layers = new LayerWeights[c.numHiddenLayers()];
            for (int i = 0; i < layers.length; i++) {
                layers[i] = layer(i);
            }
            float[] finalNorm = vector("model.norm.weight", c.hiddenSize());
            Linear lmHead = c.tieWordEmbeddings() && checkpoint.find("lm_head.weight").isEmpty()
                    ? embedding
                    : matrix("lm_head.weight", c.vocabSize(), c.hiddenSize(), "vocab_size x hidden_size");
            progress.update(totalBytes, totalBytes);
            return new ModelWeights(embedding, layers, finalNorm, lmHead);
        }

        private LayerWeights layer(int i) {
            String p = "model.layers." + i + ".";
            AttentionWeights attention = attention(p + "self_attn.");
            float[] inputNorm = vector(p + "input_layernorm.weight", c.hiddenSize());
            float[] postNorm = vector(p + "post_attention_layernorm.weight", c.hiddenSize());
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
            Linear router = matrix(p + "mlp.gate.weight", c.nRoutedExperts(), c.hiddenSize(), "n_routed_experts x hidden_size");
            float[] bias = vector(p + "mlp.gate.e_score_correction_bias", c.nRoutedExperts());
            return new LayerWeights(inputNorm, attention, postNorm, null, new MoeWeights(router, bias, experts, shared));
        }

        private AttentionWeights attention(String p) {
            int heads = c.numAttentionHeads();
            int hidden = c.hiddenSize();
            Linear qA = null, qB = null, q = null;
            float[] qANorm = null;
            if (c.hasQLora()) {
                qA = linear(p + "q_a_proj", c.qLoraRank(), hidden, "q_lora_rank x hidden_size");
                qANorm = vector(p + "q_a_layernorm.weight", c.qLoraRank());
                qB = linear(p + "q_b_proj", heads * c.qkHeadDim(), c.qLoraRank(),
                        "num_attention_heads*(qk_nope_head_dim+qk_rope_head_dim) x q_lora_rank");
            } else {
                q = linear(p + "q_proj", heads * c.qkHeadDim(), hidden,
                        "num_attention_heads*(qk_nope_head_dim+qk_rope_head_dim) x hidden_size");
            }
            Linear kvA = linear(p + "kv_a_proj_with_mqa", c.latentWidth(), hidden, "(kv_lora_rank+qk_rope_head_dim) x hidden_size");
            float[] kvANorm = vector(p + "kv_a_layernorm.weight", c.kvLoraRank());
            Linear kvB = linear(p + "kv_b_proj", heads * (c.qkNopeHeadDim() + c.vHeadDim()), c.kvLoraRank(),
                    "num_attention_heads*(qk_nope_head_dim+v_head_dim) x kv_lora_rank");
            Linear o = linear(p + "o_proj", hidden, heads * c.vHeadDim(), "hidden_size x num_attention_heads*v_head_dim");
            return new AttentionWeights(qA, qANorm, qB, q, kvA, kvANorm, kvB, o);
        }

        private MlpWeights mlp(String p, int intermediate, String intermediateName) {
            int hidden = c.hiddenSize();
            return new MlpWeights(
                    linear(p + "gate_proj", intermediate, hidden, intermediateName + " x hidden_size"),
                    linear(p + "up_proj", intermediate, hidden, intermediateName + " x hidden_size"),
                    linear(p + "down_proj", hidden, intermediate, "hidden_size x " + intermediateName));
        }

        /** A projection in any storage format the checkpoint uses for it: float, block FP8 or packed integers. */
        private Linear linear(String prefix, int rows, int cols, String shapeMeaning) {
            Optional<TensorInfo> weight = checkpoint.find(prefix + ".weight");
            if (weight.isEmpty() && checkpoint.find(prefix + ".weight_packed").isPresent()) {
                return packed(prefix, rows, cols, shapeMeaning);
            }
            TensorInfo w = checkpoint.tensor(prefix + ".weight");
            if (w.dtype() == DType.F8_E4M3) {
                checkShape(w, rows, cols, shapeMeaning);
                return fp8(prefix, w, rows, cols);
            }
            return matrix(prefix + ".weight", rows, cols, shapeMeaning);
        }

        /** A float matrix (embeddings, router, lm_head and unquantised projections). */
        private Linear matrix(String name, int rows, int cols, String shapeMeaning) {
            TensorInfo t = checkpoint.tensor(name);
            if (!FloatCodec.isFloat(t.dtype())) {
                throw new CheckpointException("tensor " + t.describe() + " has dtype " + t.dtype() + "; expected BF16, F16, F32"
                        + (name.endsWith("_proj.weight") || name.endsWith("_mqa.weight") ? " or F8_E4M3 (with weight_scale_inv)" : ""));
            }
            checkShape(t, rows, cols, shapeMeaning);
            touched(t);
            return new DenseLinear(t.data(), t.dtype(), rows, cols);
        }

        private Linear fp8(String prefix, TensorInfo w, int rows, int cols) {
            if (!(c.quantization() instanceof Quantization.Fp8Block(int blockRows, int blockCols))) {
                throw new CheckpointException("tensor " + w.describe() + " is F8_E4M3 but config.json has no fp8 quantization_config");
            }
            TensorInfo s = checkpoint.tensor(prefix + ".weight_scale_inv");
            int scaleRows = Math.ceilDiv(rows, blockRows);
            int scaleCols = Math.ceilDiv(cols, blockCols);
            if (!FloatCodec.isFloat(s.dtype())) {
                throw new CheckpointException("tensor " + s.describe() + " must be F32 (or BF16/F16)");
            }
            checkShape(s, scaleRows, scaleCols, "ceil(rows/" + blockRows + ") x ceil(cols/" + blockCols + ") for weight_block_size");
            touched(w);
            touched(s);
            return new Fp8BlockLinear(w.data(), floats(s), rows, cols, blockRows, blockCols);
        }

        private Linear packed(String prefix, int rows, int cols, String shapeMeaning) {
            TensorInfo packed = checkpoint.tensor(prefix + ".weight_packed");
            if (!(c.quantization() instanceof Quantization.PackedInt(int bits, int groupSize))) {
                throw new CheckpointException("tensor " + packed.describe()
                        + " is pack-quantized but config.json has no compressed-tensors quantization_config");
            }
            TensorInfo scale = checkpoint.tensor(prefix + ".weight_scale");
            TensorInfo shape = checkpoint.tensor(prefix + ".weight_shape");
            if (packed.dtype() != DType.I32) {
                throw new CheckpointException("tensor " + packed.describe() + " must be I32");
            }
            if (!FloatCodec.isFloat(scale.dtype())) {
                throw new CheckpointException("tensor " + scale.describe() + " must be BF16, F16 or F32");
            }
            long[] declared = integers(shape);
            if (declared.length != 2 || declared[0] != rows || declared[1] != cols) {
                throw new CheckpointException("tensor " + shape.describe() + " holds " + Arrays.toString(declared) + " but config.json implies ["
                        + rows + ", " + cols + "] (" + shapeMeaning + ")");
            }
            checkShape(packed, rows, PackedIntLinear.wordsPerRow(cols, bits), shapeMeaning + ", " + (32 / bits) + " values per int32");
            checkShape(scale, rows, Math.ceilDiv(cols, groupSize), "rows x ceil(cols/group_size " + groupSize + ")");
            touched(packed);
            touched(scale);
            return new PackedIntLinear(packed.data(), floats(scale), rows, cols, bits, groupSize);
        }

        private float[] vector(String name, int length) {
            TensorInfo t = checkpoint.tensor(name);
            touched(t);
            return FloatCodec.vector(t, length);
        }

        private static float[] floats(TensorInfo t) {
            int n = Math.toIntExact(t.elementCount());
            float[] v = new float[n];
            for (int i = 0; i < n; i++) {
                v[i] = FloatCodec.get(t.data(), t.dtype(), i);
            }
            return v;
        }

        private static long[] integers(TensorInfo t) {
            if ((t.dtype() != DType.I32 && t.dtype() != DType.I64) || t.shape().length != 1) {
                throw new CheckpointException("tensor " + t.describe() + " must be a 1-D I32 or I64 tensor");
            }
            long[] v = new long[(int) t.shape()[0]];
            for (int i = 0; i < v.length; i++) {
                v[i] = t.dtype() == DType.I32 ? t.data().get(FloatCodec.INT_LE, 4L * i) : t.data().get(FloatCodec.LONG_LE, 8L * i);
            }
            return v;
        }

        private static void checkShape(TensorInfo t, long rows, long cols, String meaning) {
            long[] s = t.shape();
            if (s.length != 2 || s[0] != rows || s[1] != cols) {
                throw new CheckpointException("tensor " + t.describe() + " disagrees with config.json, which implies ["
                        + rows + ", " + cols + "] (" + meaning + ")");
            }
        }

        /** Pages the tensor in (a large checkpoint's load is disk-bound; doing it now keeps the first token fast) and reports progress. */
        private void touched(TensorInfo t) {
            if (t.data().isMapped()) {
                t.data().load();
            }
            doneBytes += t.data().byteSize();
            progress.update(doneBytes, totalBytes);
        }
    }
}
