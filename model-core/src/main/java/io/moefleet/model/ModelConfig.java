package io.moefleet.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * A checkpoint's {@code config.json} for the DeepseekV3ForCausalLM family (Kimi K2, K2-Thinking, Moonlight, DeepSeek-V3),
 * typed and validated. Fields that decide a tensor's shape are required; the others take Hugging Face
 * {@code DeepseekV3Config}'s defaults. A wrapper config (K2.5, Kimi-VL) is read through its {@code text_config}.
 *
 * @param qLoraRank 0 when {@code q_lora_rank} is null: the model then has a plain {@code q_proj}
 * @param ropeScaling null when {@code rope_scaling} is null: plain RoPE, no YaRN
 * @param ropeInterleave true (HF's default): RoPE rotates adjacent pairs (x[2i], x[2i+1]); false: halves (x[i], x[i+d/2])
 */
public record ModelConfig(
        String architecture,
        String modelType,
        int vocabSize,
        int hiddenSize,
        int intermediateSize,
        int moeIntermediateSize,
        int numHiddenLayers,
        int numAttentionHeads,
        int nRoutedExperts,
        int nSharedExperts,
        int numExpertsPerTok,
        int firstKDenseReplace,
        int moeLayerFreq,
        int nGroup,
        int topkGroup,
        boolean normTopkProb,
        double routedScalingFactor,
        int qLoraRank,
        int kvLoraRank,
        int qkNopeHeadDim,
        int qkRopeHeadDim,
        int vHeadDim,
        double rmsNormEps,
        double ropeTheta,
        RopeScaling ropeScaling,
        boolean ropeInterleave,
        int maxPositionEmbeddings,
        boolean tieWordEmbeddings,
        int bosTokenId,
        List<Integer> eosTokenIds,
        Quantization quantization) {

    /** Architectures whose math this engine implements (V2 naming is used by Kimi-VL's text model). */
    public static final Set<String> SUPPORTED_ARCHITECTURES = Set.of("DeepseekV3ForCausalLM", "DeepseekV2ForCausalLM");

    private static final ObjectMapper JSON = new ObjectMapper();

    /** q_a_layernorm and kv_a_layernorm are built with the class default eps in the reference, not rms_norm_eps. */
    public static final double LATENT_NORM_EPS = 1e-6;

    public static ModelConfig read(Path configJson) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readString(configJson));
        } catch (NoSuchFileException e) {
            throw new CheckpointException("no config.json: " + configJson + " does not exist");
        } catch (IOException e) {
            throw new CheckpointException(configJson + " is not valid JSON: " + e.getMessage(), e);
        }
        return parse(root, configJson.toString());
    }

    public static ModelConfig parse(JsonNode root, String source) {
        if (root == null || !root.isObject()) {
            throw new CheckpointException(source + ": config must be a JSON object");
        }
        String architecture = firstArchitecture(root);
        JsonNode text = root;
        if (root.hasNonNull("text_config")) {
            // K2.5 / Kimi-VL: the language model's config sits inside the multimodal wrapper.
            text = root.get("text_config");
            if (!text.isObject()) {
                throw new CheckpointException(source + ": text_config must be an object");
            }
            String inner = firstArchitecture(text);
            architecture = inner != null ? inner : architectureFromModelType(text, source);
        }
        if (architecture == null) {
            architecture = architectureFromModelType(text, source);
        }
        if (!SUPPORTED_ARCHITECTURES.contains(architecture)) {
            throw new CheckpointException(source + ": unsupported architecture '" + architecture
                    + "'; this engine runs " + SUPPORTED_ARCHITECTURES);
        }
        return new Fields(text, source).toConfig(architecture, root);
    }

    private static String firstArchitecture(JsonNode node) {
        JsonNode a = node.get("architectures");
        return a != null && a.isArray() && !a.isEmpty() && a.get(0).isTextual() ? a.get(0).asText() : null;
    }

    private static String architectureFromModelType(JsonNode node, String source) {
        String type = node.path("model_type").asText("");
        return switch (type) {
            case "deepseek_v3", "kimi_k2" -> "DeepseekV3ForCausalLM";
            case "deepseek_v2" -> "DeepseekV2ForCausalLM";
            default -> throw new CheckpointException(source + ": no 'architectures' and unknown model_type '" + type
                    + "'; this engine runs " + SUPPORTED_ARCHITECTURES);
        };
    }

    // ---- derived shapes -------------------------------------------------------------------------------------------

    public int qkHeadDim() {
        return qkNopeHeadDim + qkRopeHeadDim;
    }

    /** Values cached per token per layer: the normalised latent and the roped shared key. */
    public int latentWidth() {
        return kvLoraRank + qkRopeHeadDim;
    }

    public boolean hasQLora() {
        return qLoraRank > 0;
    }

    public int sharedIntermediateSize() {
        return moeIntermediateSize * nSharedExperts;
    }

    /** DeepSeek's rule: MoE from first_k_dense_replace on, every moe_layer_freq-th layer. */
    public boolean isMoeLayer(int layer) {
        return nRoutedExperts > 0 && layer >= firstKDenseReplace && layer % moeLayerFreq == 0;
    }

    /** (qk_nope + qk_rope)^-0.5, times mscale(factor, mscale_all_dim)^2 under YaRN. */
    public double softmaxScale() {
        double scale = 1.0 / Math.sqrt(qkHeadDim());
        if (ropeScaling != null) {
            double m = ropeScaling.softmaxMscale();
            scale *= m * m;
        }
        return scale;
    }

    /** Reads one config object, naming each missing or out-of-range field. */
    private static final class Fields {
        private final JsonNode node;
        private final String source;

        Fields(JsonNode node, String source) {
            this.node = node;
            this.source = source;
        }

        ModelConfig toConfig(String architecture, JsonNode root) {
            int vocab = requiredInt("vocab_size", 1);
            int hidden = requiredInt("hidden_size", 1);
            int intermediate = requiredInt("intermediate_size", 1);
            int moeIntermediate = requiredInt("moe_intermediate_size", 1);
            int layers = requiredInt("num_hidden_layers", 1);
            int heads = requiredInt("num_attention_heads", 1);
            int routed = requiredInt("n_routed_experts", 0);
            int shared = requiredInt("n_shared_experts", 0);
            int perTok = requiredInt("num_experts_per_tok", routed > 0 ? 1 : 0);
            int firstDense = requiredInt("first_k_dense_replace", 0);
            int kvLora = requiredInt("kv_lora_rank", 1);
            int qkNope = requiredInt("qk_nope_head_dim", 1);
            int qkRope = requiredInt("qk_rope_head_dim", 2);
            int vHead = requiredInt("v_head_dim", 1);
            if (!node.has("q_lora_rank")) {
                throw missing("q_lora_rank", "(null for a plain q_proj)");
            }
            int qLora = node.get("q_lora_rank").isNull() ? 0 : requiredInt("q_lora_rank", 1);

            int moeFreq = optionalInt("moe_layer_freq", 1, 1);
            int nGroup = optionalInt("n_group", 1, 1);
            int topkGroup = optionalInt("topk_group", 1, 1);
            String topkMethod = optionalString("topk_method", "noaux_tc");
            String scoring = optionalString("scoring_func", "sigmoid");
            String act = optionalString("hidden_act", "silu");
            double eps = optionalDouble("rms_norm_eps", 1e-6);
            double theta = optionalDouble("rope_theta", 10000.0);
            int maxPos = optionalInt("max_position_embeddings", 4096, 1);

            if ((long) kvLora + qkRope > Integer.MAX_VALUE || (long) qkNope + qkRope > Integer.MAX_VALUE) {
                throw invalid("qk_rope_head_dim", qkRope, "with kv_lora_rank " + kvLora + " and qk_nope_head_dim " + qkNope
                        + " gives head sizes past " + Integer.MAX_VALUE);
            }
            int bos = optionalInt("bos_token_id", 0, 0);
            if (bos >= vocab) {
                throw invalid("bos_token_id", bos, "is not below vocab_size " + vocab);
            }
            if (qkRope % 2 != 0) {
                throw invalid("qk_rope_head_dim", qkRope, "must be even (RoPE rotates pairs)");
            }
            if (routed > 0) {
                if (perTok > routed) {
                    throw invalid("num_experts_per_tok", perTok, "exceeds n_routed_experts " + routed);
                }
                if (routed % nGroup != 0) {
                    throw invalid("n_group", nGroup, "does not divide n_routed_experts " + routed);
                }
                if (topkGroup > nGroup) {
                    throw invalid("topk_group", topkGroup, "exceeds n_group " + nGroup);
                }
                if (perTok > topkGroup * (routed / nGroup)) {
                    throw invalid("num_experts_per_tok", perTok,
                            "exceeds the experts in topk_group " + topkGroup + " groups of " + routed / nGroup);
                }
            }
            if (firstDense > layers) {
                throw invalid("first_k_dense_replace", firstDense, "exceeds num_hidden_layers " + layers);
            }
            if (!topkMethod.equals("noaux_tc")) {
                throw invalid("topk_method", topkMethod, "unsupported; this engine implements noaux_tc");
            }
            if (!scoring.equals("sigmoid")) {
                throw invalid("scoring_func", scoring, "unsupported; this engine implements sigmoid");
            }
            if (!act.equals("silu")) {
                throw invalid("hidden_act", act, "unsupported; this engine implements silu");
            }
            if (node.path("attention_bias").asBoolean(false)) {
                throw invalid("attention_bias", true, "unsupported; DeepSeek-V3 attention has no biases");
            }
            if (!(eps > 0)) {
                throw invalid("rms_norm_eps", eps, "must be > 0");
            }
            if (!(theta > 0)) {
                throw invalid("rope_theta", theta, "must be > 0");
            }
            // Kimi K2 names its eos in config.json, generation_config.json may add <|im_end|>; both are read by the generator.
            return new ModelConfig(architecture, node.path("model_type").asText(""),
                    vocab, hidden, intermediate, moeIntermediate, layers, heads, routed, shared, perTok,
                    firstDense, moeFreq, nGroup, topkGroup,
                    node.path("norm_topk_prob").asBoolean(true),
                    optionalDouble("routed_scaling_factor", 1.0),
                    qLora, kvLora, qkNope, qkRope, vHead, eps, theta, ropeScaling(maxPos),
                    node.path("rope_interleave").asBoolean(true), maxPos,
                    node.path("tie_word_embeddings").asBoolean(false),
                    bos, tokenIds(node.get("eos_token_id"), vocab),
                    quantization(node.hasNonNull("quantization_config") ? node.get("quantization_config")
                            : root.path("quantization_config")));
        }

        private RopeScaling ropeScaling(int maxPos) {
            JsonNode rs = node.get("rope_scaling");
            if (rs == null || rs.isNull()) {
                return null;
            }
            if (!rs.isObject()) {
                throw invalid("rope_scaling", rs, "must be an object or null");
            }
            String type = rs.hasNonNull("rope_type") ? rs.get("rope_type").asText() : rs.path("type").asText("");
            if (type.equals("default")) {
                return null;
            }
            if (!type.equals("yarn")) {
                throw invalid("rope_scaling.type", type, "unsupported; this engine implements yarn (or null)");
            }
            Fields f = new Fields(rs, source + " rope_scaling");
            double factor = f.requiredDouble("factor");
            if (!(factor >= 1)) {
                throw invalid("rope_scaling.factor", factor, "must be >= 1");
            }
            return new RopeScaling(factor,
                    f.optionalInt("original_max_position_embeddings", maxPos, 1),
                    f.optionalDouble("beta_fast", 32.0),
                    f.optionalDouble("beta_slow", 1.0),
                    f.optionalDouble("mscale", 0.0),
                    f.optionalDouble("mscale_all_dim", 0.0),
                    f.optionalDouble("attention_factor", Double.NaN),
                    rs.path("truncate").asBoolean(true));
        }

        private Quantization quantization(JsonNode q) {
            if (q == null || q.isMissingNode() || q.isNull()) {
                return new Quantization.None();
            }
            String method = q.path("quant_method").asText("");
            switch (method) {
                case "fp8" -> {
                    JsonNode block = q.get("weight_block_size");
                    if (block == null || block.isNull()) {
                        return new Quantization.Fp8Block(128, 128);
                    }
                    if (!block.isArray() || block.size() != 2 || !block.get(0).canConvertToExactIntegral()
                            || !block.get(1).canConvertToExactIntegral() || block.get(0).asInt() < 1 || block.get(1).asInt() < 1) {
                        throw invalid("quantization_config.weight_block_size", block, "must be two positive integers");
                    }
                    return new Quantization.Fp8Block(block.get(0).asInt(), block.get(1).asInt());
                }
                case "compressed-tensors" -> {
                    String format = q.path("format").asText("");
                    if (!format.equals("pack-quantized")) {
                        throw invalid("quantization_config.format", format, "unsupported; this engine reads pack-quantized");
                    }
                    JsonNode groups = q.path("config_groups");
                    if (!groups.isObject() || groups.isEmpty()) {
                        throw missing("quantization_config.config_groups", "");
                    }
                    JsonNode weights = groups.elements().next().path("weights");
                    int bits = weights.path("num_bits").asInt(0);
                    int groupSize = weights.path("group_size").asInt(0);
                    if (bits != 4 && bits != 8) {
                        throw invalid("quantization_config.config_groups.*.weights.num_bits", weights.get("num_bits"), "must be 4 or 8");
                    }
                    if (!weights.path("symmetric").asBoolean(true)) {
                        throw invalid("quantization_config.config_groups.*.weights.symmetric", false, "only symmetric is supported");
                    }
                    if (groupSize < 1) {
                        throw invalid("quantization_config.config_groups.*.weights.group_size", weights.get("group_size"),
                                "must be a positive integer (strategy group)");
                    }
                    return new Quantization.PackedInt(bits, groupSize);
                }
                default -> throw invalid("quantization_config.quant_method", method, "unsupported; this engine reads fp8 and compressed-tensors");
            }
        }

        /** {@code eos_token_id}: an id or a list of ids, each in the vocabulary. */
        private List<Integer> tokenIds(JsonNode n, int vocab) {
            List<Integer> ids = new ArrayList<>();
            if (n == null || n.isNull()) {
                return ids;
            }
            if (!n.isArray() && !n.canConvertToExactIntegral()) {
                throw invalid("eos_token_id", n, "must be an integer or a list of integers");
            }
            for (JsonNode id : n.isArray() ? n : List.of(n)) {
                int checked = checkedInt("eos_token_id", id, 0);
                if (checked >= vocab) {
                    throw invalid("eos_token_id", id, "is not below vocab_size " + vocab);
                }
                ids.add(checked);
            }
            return List.copyOf(ids);
        }

        private int requiredInt(String key, int min) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                throw missing(key, "");
            }
            return checkedInt(key, v, min);
        }

        private int optionalInt(String key, int fallback, int min) {
            JsonNode v = node.get(key);
            return v == null || v.isNull() ? fallback : checkedInt(key, v, min);
        }

        private int checkedInt(String key, JsonNode v, int min) {
            if (!v.canConvertToExactIntegral() || !v.canConvertToInt()) {
                throw invalid(key, v, "must be an integer");
            }
            if (v.asInt() < min) {
                throw invalid(key, v, "must be >= " + min);
            }
            return v.asInt();
        }

        private double requiredDouble(String key) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                throw missing(key, "");
            }
            return checkedDouble(key, v);
        }

        private double optionalDouble(String key, double fallback) {
            JsonNode v = node.get(key);
            if (v == null || v.isNull()) {
                return fallback;
            }
            return checkedDouble(key, v);
        }

        private double checkedDouble(String key, JsonNode v) {
            if (!v.isNumber()) {
                throw invalid(key, v, "must be a number");
            }
            // 1e999 reads as infinity: no size, scale or frequency of a model is that
            if (!Double.isFinite(v.asDouble())) {
                throw invalid(key, v, "must be a finite number");
            }
            return v.asDouble();
        }

        private String optionalString(String key, String fallback) {
            JsonNode v = node.get(key);
            return v == null || v.isNull() ? fallback : v.asText();
        }

        private CheckpointException missing(String key, String hint) {
            return new CheckpointException(source + ": required field '" + key + "' is missing " + hint);
        }

        private CheckpointException invalid(String key, Object value, String why) {
            return new CheckpointException(source + ": field '" + key + "' = " + value + " " + why);
        }
    }
}
