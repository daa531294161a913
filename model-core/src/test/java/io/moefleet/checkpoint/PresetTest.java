package io.moefleet.checkpoint;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PresetTest {

    @Test
    void namesAndUnknownNames() {
        assertEquals(List.of("tiny", "tiny-alt", "small", "demo"), Preset.names());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Preset.config("huge"));
        assertTrue(e.getMessage().contains("tiny, tiny-alt, small, demo"), e.getMessage());
        assertNotSame(Preset.config("tiny"), Preset.config("tiny"));
        Preset.config("tiny").put("hidden_size", 1);
        assertEquals(80, Preset.config("tiny").get("hidden_size").asInt(), "each call is a fresh tree");
    }

    @Test
    void weightFormatsParseIgnoringCase() {
        assertEquals(WeightFormat.BF16, WeightFormat.parse("bf16"));
        assertEquals(WeightFormat.FP8, WeightFormat.parse("FP8"));
        assertEquals(WeightFormat.INT4, WeightFormat.parse("Int4"));
        assertEquals(WeightFormat.F32, WeightFormat.parse("f32"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> WeightFormat.parse("fp16"));
        assertTrue(e.getMessage().contains("f32, bf16, fp8, int4"), e.getMessage());
    }

    @Test
    void everyPresetIsAValidKimiK2FamilyConfig() {
        for (String name : Preset.names()) {
            ObjectNode c = Preset.config(name);
            ModelDims dims = ModelDims.of(c);
            assertEquals("[\"DeepseekV3ForCausalLM\"]", c.get("architectures").toString(), name);
            assertEquals("silu", c.get("hidden_act").asText());
            assertEquals("noaux_tc", c.get("topk_method").asText());
            assertEquals("sigmoid", c.get("scoring_func").asText());
            assertTrue(c.get("norm_topk_prob").asBoolean());
            assertEquals(false, c.get("tie_word_embeddings").asBoolean());
            assertEquals(0, c.get("num_nextn_predict_layers").asInt());
            assertEquals(1, c.get("moe_layer_freq").asInt());
            assertEquals("bfloat16", c.get("torch_dtype").asText());
            assertEquals(dims.vocabSize() - 256, c.get("bos_token_id").asInt(), name);
            assertEquals(dims.vocabSize() - 255, c.get("eos_token_id").asInt(), name);
            assertEquals(c.get("num_attention_heads"), c.get("num_key_value_heads"));
            int experts = c.get("n_routed_experts").asInt();
            int groups = c.get("n_group").asInt();
            assertEquals(0, experts % groups, name);
            assertTrue(c.get("num_experts_per_tok").asInt() <= c.get("topk_group").asInt() * (experts / groups), name);
            c.properties().forEach(e -> assertTrue(!e.getValue().isNull()
                    || Set.of("q_lora_rank", "rope_scaling").contains(e.getKey()), name + " leaves " + e.getKey() + " unset"));
        }
    }

    @Test
    void tinyHasNoTwoEqualDimensions() {
        ModelDims d = ModelDims.of(Preset.config("tiny"));
        int heads = d.numAttentionHeads();
        List<Integer> dims = List.of(d.vocabSize(), d.hiddenSize(), d.intermediateSize(), d.moeIntermediateSize(),
                d.nRoutedExperts(), heads, d.qLoraRank(), d.kvLoraRank(), d.qkNopeHeadDim(), d.qkRopeHeadDim(),
                d.vHeadDim(), d.qHeadDim(), d.qkNopeHeadDim() + d.vHeadDim(), d.kvLoraRank() + d.qkRopeHeadDim(),
                heads * d.qHeadDim(), heads * d.vHeadDim(), heads * (d.qkNopeHeadDim() + d.vHeadDim()),
                d.vocabSize() - 256);
        Set<Integer> distinct = new HashSet<>(dims);
        assertEquals(dims.size(), distinct.size(), "repeated dimension in " + dims);
        assertTrue(d.qkRopeHeadDim() % 2 == 0);
    }

    @Test
    void smallMatchesTheReferenceShape() {
        ObjectNode c = Preset.config("small");
        List<String> got = new ArrayList<>();
        for (String key : List.of("vocab_size", "hidden_size", "intermediate_size", "moe_intermediate_size",
                "num_hidden_layers", "first_k_dense_replace", "n_routed_experts", "n_shared_experts",
                "num_experts_per_tok", "num_attention_heads", "q_lora_rank", "kv_lora_rank", "qk_nope_head_dim",
                "qk_rope_head_dim", "v_head_dim", "bos_token_id", "eos_token_id")) {
            got.add(c.get(key).asText());
        }
        assertEquals(List.of("32000", "1024", "2816", "512", "8", "1", "64", "1", "8", "16", "384", "256", "64", "32",
                "64", "31744", "31745"), got);
        assertEquals("kimi_k2", c.get("model_type").asText());
    }
}
