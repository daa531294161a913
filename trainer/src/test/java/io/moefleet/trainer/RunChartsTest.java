package io.moefleet.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Runs' logs read back and drawn: every run's colour on both charts, tau's line on the logit chart only. */
class RunChartsTest {

    @TempDir
    Path dir;

    private Path run(String name, double logitSlope) throws IOException {
        Path run = Files.createDirectories(dir.resolve(name));
        StringBuilder log = new StringBuilder();
        for (int step = 1; step <= 40; step++) {
            log.append(String.format(java.util.Locale.ROOT,
                    "{\"step\":%d,\"lr\":0.01,\"loss\":%.4f,\"held_out_loss\":%s,\"max_logit\":%.3f,\"clipped_heads\":0,\"tokens\":%d,\"tokens_per_s\":100.0}%n",
                    step, 7 - step * 0.05, step % 10 == 0 ? String.format(java.util.Locale.ROOT, "%.4f", 7.2 - step * 0.05) : "null",
                    5 + logitSlope * step, step * 64));
        }
        Files.writeString(run.resolve("train.jsonl"), log);
        return run;
    }

    @Test
    void readsTheLogAndDrawsEveryRun() throws IOException {
        RunLog clip = RunLog.read(run("muonclip", 0.1).resolve("train.jsonl"));
        assertEquals(40, clip.steps().length);
        assertArrayEquals(new double[] {10, 20, 30, 40}, clip.evalSteps());
        assertEquals(6.7, clip.heldOutLoss()[0], 1e-9);
        assertEquals(9.0, clip.maxLogit()[39], 1e-9);

        Map<String, RunLog> runs = new LinkedHashMap<>();
        runs.put("muonclip", clip);
        runs.put("muon", RunLog.read(run("muon", 1.0).resolve("train.jsonl")));
        List<Path> charts = RunCharts.write(runs, 20, dir);
        BufferedImage loss = ImageIO.read(charts.get(0).toFile());
        BufferedImage logits = ImageIO.read(charts.get(1).toFile());
        assertEquals(Chart.WIDTH, loss.getWidth());
        assertEquals(Chart.HEIGHT, logits.getHeight());
        for (BufferedImage chart : List.of(loss, logits)) {
            assertTrue(has(chart, Chart.PALETTE[0]) && has(chart, Chart.PALETTE[1]), "both runs drawn");
        }
        assertTrue(has(logits, Chart.LEVEL), "tau marked");
        assertTrue(!has(loss, Chart.LEVEL), "no level on the loss chart");
    }

    private static boolean has(BufferedImage image, Color color) {
        int rgb = color.getRGB() & 0xFFFFFF;
        for (int y = 0; y < image.getHeight(); y++) {
            for (int x = 0; x < image.getWidth(); x++) {
                if ((image.getRGB(x, y) & 0xFFFFFF) == rgb) {
                    return true;
                }
            }
        }
        return false;
    }
}
