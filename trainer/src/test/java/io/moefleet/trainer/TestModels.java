package io.moefleet.trainer;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.checkpoint.Preset;
import io.moefleet.model.ModelConfig;
import io.moefleet.model.compute.Workers;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Small configurations of the architecture and models with weights drawn so that every piece works away from zero. */
final class TestModels {

    private TestModels() {}

    /** The {@code tiny} preset's keys at gradient-check sizes: one dense layer, then MoE layers. */
    static ObjectNode small() {
        ObjectNode c = Preset.config("tiny");
        c.put("vocab_size", 37);
        c.put("bos_token_id", 0);
        c.put("eos_token_id", 1);
        c.put("hidden_size", 12);
        c.put("intermediate_size", 14);
        c.put("moe_intermediate_size", 6);
        c.put("num_hidden_layers", 3);
        c.put("first_k_dense_replace", 1);
        c.put("n_routed_experts", 5);
        c.put("n_shared_experts", 1);
        c.put("num_experts_per_tok", 2);
        c.put("num_attention_heads", 3);
        c.put("num_key_value_heads", 3);
        c.put("q_lora_rank", 10);
        c.put("kv_lora_rank", 8);
        c.put("qk_nope_head_dim", 4);
        c.put("qk_rope_head_dim", 6);
        c.put("v_head_dim", 5);
        return c;
    }

    /**
     * The other way round: plain q_proj, no rope scaling, six experts in three groups of which two are kept, top-3
     * not normalised, two shared experts, halves-layout RoPE.
     */
    static ObjectNode alternative() {
        ObjectNode c = small();
        c.putNull("q_lora_rank");
        c.putNull("rope_scaling");
        c.put("rope_interleave", false);
        c.put("n_routed_experts", 6);
        c.put("n_group", 3);
        c.put("topk_group", 2);
        c.put("num_experts_per_tok", 3);
        c.put("norm_topk_prob", false);
        c.put("routed_scaling_factor", 1.7);
        c.put("n_shared_experts", 2);
        return c;
    }

    static ModelConfig config(ObjectNode node) {
        return ModelConfig.parse(node, "test");
    }

    /**
     * Matrices with entries of standard deviation {@code 1/sqrt(cols)} (activations stay of order one), norm weights
     * around one, correction biases of the size of the score differences so that they change choices.
     */
    static TrainingModel model(ModelConfig c, Workers workers, long seed) {
        TrainingModel model = new TrainingModel(c, workers);
        SplittableRandom random = new SplittableRandom(seed);
        for (Parameter p : model.parameters()) {
            float[] v = p.value();
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) switch (p.kind()) {
                    case NORM -> 1 + 0.2 * random.nextGaussian();
                    case BIAS -> 0.1 * random.nextGaussian();
                    case EMBEDDING -> random.nextGaussian();
                    default -> random.nextGaussian() / Math.sqrt(p.cols());
                };
            }
        }
        return model;
    }

    /** Every parameter's values widened to double, by name (the reference's view of the model). */
    static Map<String, double[]> widen(TrainingModel model) {
        Map<String, double[]> params = new LinkedHashMap<>();
        for (Parameter p : model.parameters()) {
            params.put(p.name(), widen(p.value()));
        }
        return params;
    }

    static double[] widen(float[] v) {
        double[] d = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            d[i] = v[i];
        }
        return d;
    }

    static double[][] widen(float[][] rows, int n) {
        double[][] d = new double[n][];
        for (int i = 0; i < n; i++) {
            d[i] = widen(rows[i]);
        }
        return d;
    }

    static float[][] gaussian(SplittableRandom random, int rows, int cols) {
        float[][] x = new float[rows][cols];
        for (float[] row : x) {
            for (int i = 0; i < cols; i++) {
                row[i] = (float) random.nextGaussian();
            }
        }
        return x;
    }
}
