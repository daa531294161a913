package io.moefleet.checkpoint;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Named model configurations for generated checkpoints, as Hugging Face {@code config.json} trees of
 * the Kimi K2 / DeepSeek-V3 ({@code DeepseekV3ForCausalLM}) architecture.
 * <ul>
 *   <li>{@code tiny}: Kimi K2 style, made in well under a second; no two tensor dimensions are equal,
 *       derived ones included, so a mix-up of two of them cannot go unnoticed;</li>
 *   <li>{@code tiny-alt}: every optional feature the other way (plain {@code q_proj}, group-limited
 *       routing, two shared experts, two dense layers, no rope scaling, DeepSeek-V3 model_type) and
 *       quantisation blocks and groups that leave ragged edges at these sizes;</li>
 *   <li>{@code small}: about 0.8 B parameters, for throughput and sharding;</li>
 *   <li>{@code demo}: the shape of the model {@code ./fleet demo} serves ({@code models/demo}): about 4.3 M parameters,
 *       8 experts top-2 and a shared one, MLA; trained with MuonClip on 2 cores in under an hour (README).</li>
 * </ul>
 */
public final class Preset {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
    private static final Map<String, Supplier<ObjectNode>> PRESETS = new LinkedHashMap<>();

    static {
        PRESETS.put("tiny", Preset::tiny);
        PRESETS.put("tiny-alt", Preset::tinyAlt);
        PRESETS.put("small", Preset::small);
        PRESETS.put("demo", Preset::demo);
    }

    private Preset() {
    }

    /** A fresh, mutable config.json tree for the named preset. */
    public static ObjectNode config(String name) {
        Supplier<ObjectNode> preset = PRESETS.get(name);
        if (preset == null) {
            throw new IllegalArgumentException("unknown preset '" + name + "'; valid presets: " + String.join(", ", names()));
        }
        return preset.get();
    }

    public static List<String> names() {
        return List.copyOf(PRESETS.keySet());
    }

    private static ObjectNode tiny() {
        ObjectNode c = base();
        vocab(c, 1024);
        c.put("hidden_size", 80);
        c.put("intermediate_size", 152);
        c.put("moe_intermediate_size", 44);
        c.put("num_hidden_layers", 3);
        c.put("first_k_dense_replace", 1);
        c.put("n_routed_experts", 14);
        c.put("n_shared_experts", 1);
        c.put("num_experts_per_tok", 4);
        c.put("n_group", 1);
        c.put("topk_group", 1);
        c.put("routed_scaling_factor", 2.827);
        heads(c, 3);
        c.put("q_lora_rank", 56);
        c.put("kv_lora_rank", 40);
        c.put("qk_nope_head_dim", 20);
        c.put("qk_rope_head_dim", 12);
        c.put("v_head_dim", 28);
        c.put("rope_theta", 50000.0);
        c.put("max_position_embeddings", 131072);
        c.set("rope_scaling", kimiYarn());
        return c;
    }

    private static ObjectNode tinyAlt() {
        ObjectNode c = base();
        c.put("model_type", "deepseek_v3");
        c.put("rms_norm_eps", 1e-5);
        vocab(c, 1280);
        c.put("hidden_size", 72);
        c.put("intermediate_size", 136);
        c.put("moe_intermediate_size", 38);
        c.put("num_hidden_layers", 4);
        c.put("first_k_dense_replace", 2);
        c.put("n_routed_experts", 16);
        c.put("n_shared_experts", 2);
        c.put("num_experts_per_tok", 4);
        c.put("n_group", 4);
        c.put("topk_group", 2);
        c.put("routed_scaling_factor", 2.5);
        heads(c, 5);
        c.putNull("q_lora_rank");
        c.put("kv_lora_rank", 44);
        c.put("qk_nope_head_dim", 18);
        c.put("qk_rope_head_dim", 10);
        c.put("v_head_dim", 22);
        c.put("rope_theta", 10000.0);
        c.put("max_position_embeddings", 4096);
        c.putNull("rope_scaling");
        // FP8 blocks of 32 x 24: out dims 72, 140, 54, 200, 136, 38, 76 and in dims 44, 110, 136, 38, 76 end in partial blocks
        ObjectNode fp8 = c.putObject("quantization_config");
        fp8.put("activation_scheme", "dynamic");
        fp8.put("fmt", "e4m3");
        fp8.put("quant_method", "fp8");
        fp8.putArray("weight_block_size").add(32).add(24);
        // not a Hugging Face key: the INT4 group size the writer uses (and removes) when writing int4;
        // expert in dims 72 (4.5 groups) and 38 (neither a multiple of 16 nor of 8) end in partial groups and words
        c.put(QuantizationSettings.INT4_GROUP_SIZE_KEY, 16);
        return c;
    }

    /** /work/shared/reference/small-preset-config.json with Kimi K2's model_type and this tokenizer's ids. */
    private static ObjectNode small() {
        ObjectNode c = base();
        vocab(c, 31744);
        c.put("hidden_size", 1024);
        c.put("intermediate_size", 2816);
        c.put("moe_intermediate_size", 512);
        c.put("num_hidden_layers", 8);
        c.put("first_k_dense_replace", 1);
        c.put("n_routed_experts", 64);
        c.put("n_shared_experts", 1);
        c.put("num_experts_per_tok", 8);
        c.put("n_group", 1);
        c.put("topk_group", 1);
        c.put("routed_scaling_factor", 2.827);
        heads(c, 16);
        c.put("q_lora_rank", 384);
        c.put("kv_lora_rank", 256);
        c.put("qk_nope_head_dim", 64);
        c.put("qk_rope_head_dim", 32);
        c.put("v_head_dim", 64);
        c.put("rope_theta", 50000.0);
        c.put("max_position_embeddings", 131072);
        c.set("rope_scaling", kimiYarn());
        return c;
    }

    private static ObjectNode demo() {
        ObjectNode c = base();
        vocab(c, 4096);
        c.put("hidden_size", 192);
        c.put("intermediate_size", 512);
        c.put("moe_intermediate_size", 128);
        c.put("num_hidden_layers", 4);
        c.put("first_k_dense_replace", 1);
        c.put("n_routed_experts", 8);
        c.put("n_shared_experts", 1);
        c.put("num_experts_per_tok", 2);
        c.put("n_group", 1);
        c.put("topk_group", 1);
        c.put("routed_scaling_factor", 2.827);
        heads(c, 4);
        c.put("q_lora_rank", 96);
        c.put("kv_lora_rank", 64);
        c.put("qk_nope_head_dim", 32);
        c.put("qk_rope_head_dim", 16);
        c.put("v_head_dim", 32);
        c.put("rope_theta", 50000.0);
        c.put("max_position_embeddings", 131072);
        c.set("rope_scaling", kimiYarn());
        return c;
    }

    /** The keys every preset shares, in the order of Hugging Face's config.json; sizes are filled in by the preset. */
    private static ObjectNode base() {
        ObjectNode c = JSON.objectNode();
        c.putArray("architectures").add("DeepseekV3ForCausalLM");
        c.put("model_type", "kimi_k2");
        c.put("hidden_act", "silu");
        c.put("attention_bias", false);
        c.put("attention_dropout", 0.0);
        c.put("initializer_range", 0.02);
        c.put("topk_method", "noaux_tc");
        c.put("scoring_func", "sigmoid");
        c.put("norm_topk_prob", true);
        c.put("ep_size", 1);
        c.put("moe_layer_freq", 1);
        c.put("num_nextn_predict_layers", 0);
        c.put("rms_norm_eps", 1e-6);
        c.put("tie_word_embeddings", false);
        c.put("torch_dtype", "bfloat16");
        c.put("use_cache", true);
        for (String key : List.of("vocab_size", "hidden_size", "intermediate_size", "moe_intermediate_size",
                "num_hidden_layers", "first_k_dense_replace", "n_routed_experts", "n_shared_experts",
                "num_experts_per_tok", "n_group", "topk_group", "routed_scaling_factor", "num_attention_heads",
                "num_key_value_heads", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim", "qk_rope_head_dim",
                "v_head_dim", "rope_theta", "max_position_embeddings", "rope_scaling", "bos_token_id", "eos_token_id")) {
            c.putNull(key); // keeps the key order; every preset sets each of them
        }
        return c;
    }

    /** Base ranks plus Kimi K2's 256 special ids; [BOS] and [EOS] are the first two special ids. */
    private static void vocab(ObjectNode c, int baseRanks) {
        c.put("vocab_size", baseRanks + KimiSpecialTokens.COUNT);
        c.put("bos_token_id", baseRanks + KimiSpecialTokens.BOS);
        c.put("eos_token_id", baseRanks + KimiSpecialTokens.EOS);
    }

    private static void heads(ObjectNode c, int heads) {
        c.put("num_attention_heads", heads);
        c.put("num_key_value_heads", heads);
    }

    /** Kimi K2 (0711) YaRN: factor 32 over 4096 original positions, beta_fast = beta_slow = 1. */
    private static ObjectNode kimiYarn() {
        ObjectNode yarn = JSON.objectNode();
        yarn.put("type", "yarn");
        yarn.put("factor", 32.0);
        yarn.put("original_max_position_embeddings", 4096);
        yarn.put("beta_fast", 1.0);
        yarn.put("beta_slow", 1.0);
        yarn.put("mscale", 1.0);
        yarn.put("mscale_all_dim", 1.0);
        return yarn;
    }
}
