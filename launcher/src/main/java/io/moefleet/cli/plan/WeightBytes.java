package io.moefleet.cli.plan;

import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.Quantization;

/**
 * A model's weight bytes by part in one storage format, from the config's own shapes. The formats follow the released
 * checkpoints: in FP8 (K2, DeepSeek-V3) every decoder projection (attention, dense MLPs, shared and routed experts) is
 * E4M3 with one float32 scale per block (128x128 unless the config says otherwise), while embeddings, lm_head, norms
 * and the router gate stay BF16; in INT4 (K2-Thinking) only the routed experts are packed, 4 bits a weight with one
 * BF16 scale per group of 32 input columns (unless the config says otherwise), the rest BF16. The router's correction
 * bias is float32 in every format.
 *
 * @param routedExpertPerLayer one routed expert in one MoE layer (gate, up and down projections)
 * @param sharedExperts the shared experts of every MoE layer
 * @param attention every layer's MLA projections and its norms (the latent norms and the two layer norms)
 * @param denseLayers the MLPs of the layers that are not MoE layers
 * @param routerGates every MoE layer's gate and correction bias
 * @param lmHead lm_head (none when tied to the embeddings) and the final norm
 * @param parameters the model's parameter count, whatever the format
 */
public record WeightBytes(
        WeightFormat format,
        int routedExperts,
        int moeLayers,
        long routedExpertPerLayer,
        long sharedExperts,
        long attention,
        long denseLayers,
        long routerGates,
        long embeddings,
        long lmHead,
        long parameters) {

    public static WeightBytes of(ModelConfig config, WeightFormat format) {
        // the same tally counting one per weight gives the parameters (scales are not parameters)
        long parameters = tally(config, new Sizes(config, null), format, 0).total();
        return tally(config, new Sizes(config, format), format, parameters);
    }

    private static WeightBytes tally(ModelConfig config, Sizes sizes, WeightFormat format, long parameters) {
        int h = config.hiddenSize();
        int moeLayers = 0;
        long attention = 0;
        long dense = 0;
        for (int layer = 0; layer < config.numHiddenLayers(); layer++) {
            attention += sizes.attentionLayer();
            if (config.isMoeLayer(layer)) {
                moeLayers++;
            } else {
                dense += sizes.swiGlu(config.intermediateSize(), Role.PROJECTION);
            }
        }
        long routedExpert = sizes.swiGlu(config.moeIntermediateSize(), Role.ROUTED_EXPERT);
        long shared = config.nSharedExperts() == 0 ? 0
                : moeLayers * sizes.swiGlu(config.sharedIntermediateSize(), Role.PROJECTION);
        long gates = moeLayers * (sizes.matrix(config.nRoutedExperts(), h, Role.PLAIN) + sizes.float32(config.nRoutedExperts()));
        long embeddings = sizes.matrix(config.vocabSize(), h, Role.PLAIN);
        long lmHead = (config.tieWordEmbeddings() ? 0 : sizes.matrix(config.vocabSize(), h, Role.PLAIN)) + sizes.vector(h);
        return new WeightBytes(format, config.nRoutedExperts(), moeLayers, routedExpert, shared, attention, dense, gates,
                embeddings, lmHead, parameters);
    }

    /** One routed expert in every MoE layer: what a placement slot holds (a shard holds its experts in every layer). */
    public long routedExpert() {
        return routedExpertPerLayer * moeLayers;
    }

    public long routedTotal() {
        return routedExpert() * routedExperts;
    }

    /** Everything but the routed experts: what each attention device holds under data-parallel attention. */
    public long nonExpert() {
        return sharedExperts + attention + denseLayers + routerGates + embeddings + lmHead;
    }

    public long total() {
        return routedTotal() + nonExpert();
    }

    /** Which format a tensor takes in a quantised checkpoint (released conventions, see the class comment). */
    private enum Role { ROUTED_EXPERT, PROJECTION, PLAIN }

    /** Bytes of matrices and vectors in one format; with no format, their parameter counts. */
    private static final class Sizes {
        private final ModelConfig config;
        private final WeightFormat format;
        private final int fp8BlockRows;
        private final int fp8BlockCols;
        private final int int4Group;

        Sizes(ModelConfig config, WeightFormat format) {
            this.config = config;
            this.format = format;
            // the config's own block and group sizes when it declares that format, else the released ones
            Quantization q = config.quantization();
            fp8BlockRows = q instanceof Quantization.Fp8Block b ? b.blockRows() : 128;
            fp8BlockCols = q instanceof Quantization.Fp8Block b ? b.blockCols() : 128;
            int4Group = q instanceof Quantization.PackedInt p ? p.groupSize() : 32;
        }

        /** MLA (q_a + q_a_layernorm + q_b, or q_proj; kv_a_proj_with_mqa; kv_a_layernorm; kv_b_proj; o_proj) and the two layer norms. */
        long attentionLayer() {
            int h = config.hiddenSize();
            int heads = config.numAttentionHeads();
            long q = config.hasQLora()
                    ? matrix(config.qLoraRank(), h, Role.PROJECTION) + vector(config.qLoraRank())
                        + matrix((long) heads * config.qkHeadDim(), config.qLoraRank(), Role.PROJECTION)
                    : matrix((long) heads * config.qkHeadDim(), h, Role.PROJECTION);
            return q
                    + matrix(config.latentWidth(), h, Role.PROJECTION) + vector(config.kvLoraRank())
                    + matrix((long) heads * (config.qkNopeHeadDim() + config.vHeadDim()), config.kvLoraRank(), Role.PROJECTION)
                    + matrix(h, (long) heads * config.vHeadDim(), Role.PROJECTION)
                    + 2 * vector(h);
        }

        /** gate and up [intermediate, hidden], down [hidden, intermediate]. */
        long swiGlu(int intermediate, Role role) {
            int h = config.hiddenSize();
            return 2 * matrix(intermediate, h, role) + matrix(h, intermediate, role);
        }

        long matrix(long rows, long cols, Role role) {
            if (format == null) {
                return rows * cols;
            }
            return switch (storage(role)) {
                case F32 -> 4 * rows * cols;
                case BF16 -> 2 * rows * cols;
                // E4M3 weights + float32 weight_scale_inv [ceil(rows/block), ceil(cols/block)]
                case FP8 -> rows * cols + 4 * ceilDiv(rows, fp8BlockRows) * ceilDiv(cols, fp8BlockCols);
                // weight_packed int32 [rows, ceil(cols/8)] + BF16 weight_scale [rows, ceil(cols/group)] + weight_shape int32[2]
                case INT4 -> 4 * rows * ceilDiv(cols, 8) + 2 * rows * ceilDiv(cols, int4Group) + 8;
            };
        }

        /** A float32 vector in every format (the router's correction bias). */
        long float32(long length) {
            return format == null ? length : 4 * length;
        }

        /** A norm weight: BF16, float32 in an F32 checkpoint. */
        long vector(long length) {
            return format == null ? length : format == WeightFormat.F32 ? 4 * length : 2 * length;
        }

        private WeightFormat storage(Role role) {
            return switch (format) {
                case F32 -> WeightFormat.F32;
                case BF16 -> WeightFormat.BF16;
                case FP8 -> role == Role.PLAIN ? WeightFormat.BF16 : WeightFormat.FP8;
                case INT4 -> role == Role.ROUTED_EXPERT ? WeightFormat.INT4 : WeightFormat.BF16;
            };
        }

        private static long ceilDiv(long a, long b) {
            return (a + b - 1) / b;
        }
    }
}
