package io.moefleet.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Block and group sizes for the quantised formats, taken from the config the writer is given:
 * <ul>
 *   <li>FP8 blocks: {@code quantization_config.weight_block_size} when the config already holds an
 *       {@code fp8} quantization_config, else 128 x 128 as released;</li>
 *   <li>INT4 group: the non-HF key {@value #INT4_GROUP_SIZE_KEY} (a preset's way to ask for a
 *       different group; the writer removes it from the written config), else the group_size of a
 *       {@code compressed-tensors} quantization_config, else 32 as released.</li>
 * </ul>
 * The written config gets the quantization_config of the format actually written, or none.
 */
record QuantizationSettings(int fp8BlockRows, int fp8BlockCols, int int4GroupSize) {
    static final String INT4_GROUP_SIZE_KEY = "moefleet_int4_group_size";
    private static final int DEFAULT_FP8_BLOCK = 128;
    private static final int DEFAULT_INT4_GROUP = 32;

    static QuantizationSettings of(JsonNode config) {
        int blockRows = DEFAULT_FP8_BLOCK;
        int blockCols = DEFAULT_FP8_BLOCK;
        int group = DEFAULT_INT4_GROUP;
        JsonNode qc = config.path("quantization_config");
        String method = qc.path("quant_method").asText("");
        if (method.equals("fp8") && qc.has("weight_block_size")) {
            JsonNode block = qc.get("weight_block_size");
            if (!block.isArray() || block.size() != 2) {
                throw new IllegalArgumentException("quantization_config.weight_block_size must be [rows, cols], got " + block);
            }
            blockRows = block.get(0).asInt();
            blockCols = block.get(1).asInt();
        }
        if (method.equals("compressed-tensors")) {
            for (JsonNode configGroup : qc.path("config_groups")) {
                JsonNode size = configGroup.path("weights").path("group_size");
                if (size.isInt()) {
                    group = size.asInt();
                    break;
                }
            }
        }
        if (config.has(INT4_GROUP_SIZE_KEY)) {
            group = config.get(INT4_GROUP_SIZE_KEY).asInt();
        }
        QuantizationSettings settings = new QuantizationSettings(blockRows, blockCols, group);
        settings.fp8(); // validates
        settings.int4();
        return settings;
    }

    Fp8BlockQuantizer fp8() {
        return new Fp8BlockQuantizer(fp8BlockRows, fp8BlockCols);
    }

    Int4GroupQuantizer int4() {
        return new Int4GroupQuantizer(int4GroupSize);
    }

    /** The quantization_config block describing checkpoints of {@code format}, or null when it has none. */
    ObjectNode quantizationConfig(WeightFormat format) {
        JsonNodeFactory json = JsonNodeFactory.instance;
        return switch (format) {
            case F32, BF16 -> null;
            case FP8 -> {
                ObjectNode qc = json.objectNode();
                qc.put("activation_scheme", "dynamic");
                qc.put("fmt", "e4m3");
                qc.put("quant_method", "fp8");
                qc.putArray("weight_block_size").add(fp8BlockRows).add(fp8BlockCols);
                yield qc;
            }
            case INT4 -> {
                ObjectNode qc = json.objectNode();
                qc.put("quant_method", "compressed-tensors");
                qc.put("format", "pack-quantized");
                ObjectNode group = qc.putObject("config_groups").putObject("group_0");
                group.putArray("targets").add("Linear");
                ObjectNode weights = group.putObject("weights");
                weights.put("num_bits", 4);
                weights.put("type", "int");
                weights.put("symmetric", true);
                weights.put("strategy", "group");
                weights.put("group_size", int4GroupSize);
                weights.put("dynamic", false);
                group.putNull("input_activations");
                group.putNull("output_activations");
                // as Kimi-K2-Thinking: everything but the routed experts stays unquantised
                qc.putArray("ignore")
                        .add("lm_head")
                        .add("re:.*self_attn.*")
                        .add("re:.*shared_experts.*")
                        .add("re:.*mlp\\.(gate|up|gate_up|down)_proj.*");
                yield qc;
            }
        };
    }
}
