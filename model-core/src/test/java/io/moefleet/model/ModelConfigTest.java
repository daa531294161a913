package io.moefleet.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ModelConfigTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static ObjectNode golden(String name) throws IOException {
        return (ObjectNode) JSON.readTree(GoldenData.checkpoint(name).resolve("config.json").toFile());
    }

    private static ModelConfig parse(ObjectNode node) {
        return ModelConfig.parse(node, "config.json");
    }

    private static String error(ObjectNode node) {
        return assertThrows(CheckpointException.class, () -> parse(node)).getMessage();
    }

    @Test
    void readsKimiK2AndDeepSeekV3Values() throws IOException {
        ModelConfig k2 = parse(golden("tiny-k2"));
        assertEquals("DeepseekV3ForCausalLM", k2.architecture());
        assertEquals(1280, k2.vocabSize());
        assertEquals(32, k2.qLoraRank());
        assertEquals(40, k2.latentWidth());
        assertEquals(2.827, k2.routedScalingFactor());
        assertEquals(32.0, k2.ropeScaling().factor());
        assertEquals(1.0, k2.ropeScaling().betaFast());
        assertEquals(List.of(1025), k2.eosTokenIds());
        assertFalse(k2.isMoeLayer(0));
        assertTrue(k2.isMoeLayer(1));
        assertEquals(new Quantization.None(), k2.quantization());
        assertEquals(new Quantization.Fp8Block(128, 128), parse(golden("tiny-k2-fp8")).quantization());

        ModelConfig v3 = parse(golden("tiny-v3"));
        assertEquals(4, v3.nGroup());
        assertEquals(2, v3.topkGroup());
        // (16+8)^-0.5 * (0.1 ln 40 + 1)^2, the DeepSeek-V3 YaRN softmax scale at these head dims
        assertEquals(Math.pow(24, -0.5) * Math.pow(0.1 * Math.log(40) + 1, 2), v3.softmaxScale(), 1e-12);
    }

    @Test
    void kimiK2SoftmaxScaleIsTheFactsFileValue() throws IOException {
        ObjectNode k2 = (ObjectNode) JSON.readTree(getClass().getResource("/kimi-k2-instruct-config.json"));
        ModelConfig config = parse(k2);
        assertEquals(0.130861, config.softmaxScale(), 1e-6);
        assertEquals(576, config.latentWidth());
        assertEquals(new Quantization.Fp8Block(128, 128), config.quantization());
    }

    @Test
    void optionalFieldsTakeHuggingFaceDefaults() throws IOException {
        ObjectNode node = golden("tiny-k2");
        for (String key : List.of("rms_norm_eps", "rope_theta", "rope_scaling", "max_position_embeddings", "tie_word_embeddings",
                "norm_topk_prob", "n_group", "topk_group", "moe_layer_freq", "routed_scaling_factor", "quantization_config")) {
            node.remove(key);
        }
        node.putNull("q_lora_rank");
        ModelConfig c = parse(node);
        assertEquals(1e-6, c.rmsNormEps());
        assertEquals(10000.0, c.ropeTheta());
        assertNull(c.ropeScaling());
        assertEquals(4096, c.maxPositionEmbeddings());
        assertFalse(c.tieWordEmbeddings());
        assertTrue(c.normTopkProb());
        assertEquals(1, c.nGroup());
        assertFalse(c.hasQLora());
        assertEquals(Math.pow(24, -0.5), c.softmaxScale(), 1e-12);
    }

    @ParameterizedTest
    @ValueSource(strings = {"hidden_size", "intermediate_size", "moe_intermediate_size", "num_hidden_layers", "num_attention_heads",
            "vocab_size", "n_routed_experts", "n_shared_experts", "num_experts_per_tok", "kv_lora_rank", "qk_nope_head_dim",
            "qk_rope_head_dim", "v_head_dim", "first_k_dense_replace", "q_lora_rank"})
    void aMissingShapeFieldIsNamed(String field) throws IOException {
        ObjectNode node = golden("tiny-k2");
        node.remove(field);
        String message = error(node);
        assertTrue(message.contains("'" + field + "'") && message.contains("missing"), message);
    }

    @Test
    void inconsistentFieldsAreNamed() throws IOException {
        ObjectNode node = golden("tiny-v3");
        node.put("num_experts_per_tok", 17);
        assertTrue(error(node).contains("num_experts_per_tok"));
        node = golden("tiny-v3");
        node.put("n_group", 3);
        assertTrue(error(node).contains("'n_group' = 3 does not divide n_routed_experts 16"));
        node = golden("tiny-v3");
        node.put("topk_group", 5);
        assertTrue(error(node).contains("topk_group"));
        node = golden("tiny-v3");
        node.put("topk_group", 1);     // one group of 4 experts cannot supply top-4 plus... it can: 4 <= 4
        parse(node);
        node.put("num_experts_per_tok", 5);
        assertTrue(error(node).contains("exceeds the experts in topk_group"));
        node = golden("tiny-v3");
        node.put("qk_rope_head_dim", 7);
        assertTrue(error(node).contains("must be even"));
        node = golden("tiny-v3");
        node.put("hidden_size", "64");
        assertTrue(error(node).contains("'hidden_size' = \"64\" must be an integer"));
        node = golden("tiny-v3");
        node.put("first_k_dense_replace", 4);
        assertTrue(error(node).contains("first_k_dense_replace"));
        node = golden("tiny-v3");
        node.put("scoring_func", "softmax");
        assertTrue(error(node).contains("scoring_func"));
        node = golden("tiny-v3");
        ((ObjectNode) node.get("rope_scaling")).put("type", "dynamic");
        assertTrue(error(node).contains("rope_scaling.type"));
    }

    /** Values that parse as numbers but no model has (found by fuzzing config.json: they were taken as they came). */
    @Test
    void tokenIdsOutsideTheVocabularyInfiniteNumbersAndOverflowingHeadsAreNamed() throws IOException {
        ObjectNode node = golden("tiny-k2");
        node.put("bos_token_id", 9718);
        assertTrue(error(node).contains("'bos_token_id' = 9718 is not below vocab_size 1280"), error(node));
        node = golden("tiny-k2");
        node.putArray("eos_token_id").add(1025).add("x");
        assertTrue(error(node).contains("'eos_token_id' = \"x\" must be an integer"), error(node));
        node.putArray("eos_token_id").add(1280);
        assertTrue(error(node).contains("'eos_token_id' = 1280 is not below vocab_size 1280"), error(node));
        node = golden("tiny-k2");
        node.set("rope_theta", JSON.readTree("1e999"));          // what Jackson reads as infinity
        assertTrue(error(node).contains("'rope_theta'") && error(node).contains("must be a finite number"), error(node));
        node = golden("tiny-k2");
        node.put("kv_lora_rank", Integer.MAX_VALUE);
        assertTrue(error(node).contains("head sizes past"), error(node));
    }

    @Test
    void anUnknownArchitectureIsAnError() throws IOException {
        ObjectNode node = golden("tiny-k2");
        node.putArray("architectures").add("LlamaForCausalLM");
        String message = error(node);
        assertTrue(message.contains("unsupported architecture 'LlamaForCausalLM'"), message);
    }

    @Test
    void aWrapperConfigIsReadThroughItsTextConfig() throws IOException {
        ObjectNode text = golden("tiny-k2");
        text.remove("architectures");
        ObjectNode wrapper = JSON.createObjectNode();
        wrapper.putArray("architectures").add("KimiK25ForConditionalGeneration");
        wrapper.put("model_type", "kimi_k25");
        wrapper.set("text_config", text);
        wrapper.set("vision_config", JSON.createObjectNode().put("hidden_size", 1152));
        ModelConfig c = parse(wrapper);
        assertEquals("DeepseekV3ForCausalLM", c.architecture());
        assertEquals(64, c.hiddenSize());
    }

    @Test
    void int4QuantizationConfigIsRead() throws IOException {
        ObjectNode node = golden("tiny-k2");
        ObjectNode q = node.putObject("quantization_config");
        q.put("quant_method", "compressed-tensors").put("format", "pack-quantized");
        q.putObject("config_groups").putObject("group_0").putObject("weights")
                .put("num_bits", 4).put("type", "int").put("symmetric", true).put("strategy", "group").put("group_size", 32);
        assertEquals(new Quantization.PackedInt(4, 32), parse(node).quantization());
        q.put("format", "float-quantized");
        assertTrue(error(node).contains("quantization_config.format"));
    }
}
