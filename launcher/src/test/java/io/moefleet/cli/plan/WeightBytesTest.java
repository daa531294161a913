package io.moefleet.cli.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.model.ModelConfig;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

class WeightBytesTest {

    static ObjectNode k2Json() {
        try (InputStream in = WeightBytesTest.class.getResourceAsStream("/plan/kimi-k2-instruct-config.json")) {
            return (ObjectNode) new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static ModelConfig k2() {
        return ModelConfig.parse(k2Json(), "kimi-k2-instruct-config.json");
    }

    @Test
    void k2HasItsKnownParameterCount() {
        // the facts' arithmetic from the published shapes; Hugging Face lists "1026.5B"
        assertEquals(1_026_408_232_448L, WeightBytes.of(k2(), WeightFormat.FP8).parameters());
    }

    /**
     * Sanity against reality: the released FP8 K2 checkpoint is about 959 GiB (~1.03 TB) on Hugging Face. Nearly all of
     * it is the routed experts at one byte a weight (1.0147T weights) plus their 128x128 float32 scales (+0.02%), with
     * about 14 GB of the rest (FP8 attention, BF16 embeddings and lm_head). Within 3% of it, or the shapes are wrong.
     */
    @Test
    void k2InFp8IsTheSizeOfTheReleasedCheckpoint() {
        WeightBytes w = WeightBytes.of(k2(), WeightFormat.FP8);
        double gib = w.total() / (double) (1L << 30);
        assertTrue(Math.abs(gib - 959) / 959 < 0.03, gib + " GiB");
        // one routed expert in one layer: 3 x 2048 x 7168 bytes + 3 x 16 x 56 float32 block scales
        assertEquals(3L * 2048 * 7168 + 3L * 16 * 56 * 4, w.routedExpertPerLayer());
        assertEquals(60, w.moeLayers());
        // embeddings and lm_head stay BF16
        assertEquals(2L * 163_840 * 7168, w.embeddings());
        assertEquals(2L * 163_840 * 7168 + 2 * 7168, w.lmHead());
    }

    /**
     * K2-Thinking's INT4 checkpoint (only the routed experts packed, 4 bits + a BF16 scale per 32 weights = 4.5 bits;
     * the rest BF16) is about 594 GB; the same shapes in INT4 must land there too.
     */
    @Test
    void k2InInt4IsTheSizeOfTheThinkingCheckpoint() {
        WeightBytes w = WeightBytes.of(k2(), WeightFormat.INT4);
        assertTrue(Math.abs(w.total() / 1e9 - 594) / 594 < 0.03, w.total() / 1e9 + " GB");
        // gate/up packed [2048, 896] int32 + scales [2048, 224] bf16; down [7168, 256] + [7168, 64]; weight_shape each
        assertEquals(2 * (2048L * 896 * 4 + 2048L * 224 * 2 + 8) + 7168L * 256 * 4 + 7168L * 64 * 2 + 8, w.routedExpertPerLayer());
        // everything else BF16: twice the non-expert parameters, the router biases float32
        assertEquals(WeightBytes.of(k2(), WeightFormat.BF16).nonExpert(), w.nonExpert());
    }

    @Test
    void bf16IsTwoBytesAWeightButTheRouterBias() {
        WeightBytes w = WeightBytes.of(k2(), WeightFormat.BF16);
        assertEquals(2 * w.parameters() + 2L * 60 * 384, w.total(), "the correction bias is float32: 2 more bytes each");
    }

    @Test
    void withoutQLoraAttentionHasAPlainQProj() {
        ObjectNode json = k2Json();
        json.putNull("q_lora_rank");
        WeightBytes plain = WeightBytes.of(ModelConfig.parse(json, "no q_lora"), WeightFormat.BF16);
        WeightBytes lora = WeightBytes.of(k2(), WeightFormat.BF16);
        long qProj = 64L * 192 * 7168;
        long qLora = 1536L * 7168 + 1536 + 64L * 192 * 1536;
        assertEquals(61 * 2 * (qProj - qLora), plain.attention() - lora.attention());
    }
}
