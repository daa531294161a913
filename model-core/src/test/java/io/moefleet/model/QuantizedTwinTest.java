package io.moefleet.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.moefleet.checkpoint.CheckpointWriter;
import io.moefleet.checkpoint.Preset;
import io.moefleet.checkpoint.WeightFormat;
import io.moefleet.engine.Engine;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every storage format against its dequantised F32 twin, on {@code tiny} and on {@code tiny-alt} (q_proj instead of
 * a q LoRA, group-limited routing, two shared experts, two dense layers, no YaRN, eps 1e-5, ragged FP8 blocks and
 * INT4 groups): logits within 1e-4 and the same greedy ids on a prompt clear of knife edges.
 */
class QuantizedTwinTest {

    private static final int PROMPT = 48;
    private static final int GREEDY = 12;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"tiny, BF16", "tiny, FP8", "tiny, INT4", "tiny-alt, BF16", "tiny-alt, FP8", "tiny-alt, INT4"})
    void quantisedCheckpointMatchesItsF32Twin(String preset, WeightFormat format) throws IOException {
        Path out = dir.resolve(preset + "-" + format);
        List<Path> written = CheckpointWriter.writeWithTwin(Preset.config(preset), 11, format, out);
        assertTrue(written.contains(CheckpointWriter.twinDirectory(out)), "a twin is written for " + format);

        try (Engine quantised = Engine.open(out, (done, total) -> {});
             Engine twin = Engine.open(CheckpointWriter.twinDirectory(out), (done, total) -> {})) {
            int[] prompt = KnifeEdges.clearPrompt(twin.model(), 5, PROMPT, GREEDY);

            float[][] expected = twin.logits(prompt);
            float[][] actual = quantised.logits(prompt);
            double worst = 0;
            for (int r = 0; r < expected.length; r++) {
                for (int v = 0; v < expected[r].length; v++) {
                    worst = Math.max(worst, Math.abs(expected[r][v] - actual[r][v]));
                }
            }
            assertTrue(worst < 1e-4, preset + " " + format + ": max |logit difference| to the F32 twin " + worst);
            assertArrayEquals(KnifeEdges.greedy(twin.model(), prompt, GREEDY).greedy(),
                    KnifeEdges.greedy(quantised.model(), prompt, GREEDY).greedy(), preset + " " + format + ": greedy ids");
        }
    }
}
